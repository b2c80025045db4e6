/**
 * A statement over a list of task ids (`... where id in (?, ?, ...)`),
 * compiled once per list length and reused. The length of an `in` list is
 * part of the SQL, so each length is its own statement; lists are padded to
 * the next power of two with their last id (a repeated id changes nothing
 * in an `in` list), so a backend compiles at most ten lengths per
 * statement rather than one per batch size. Longer lists are cut into
 * slices of {@linkcode ROWS_PER_STATEMENT}.
 *
 * @module
 */
import type { Compilable, CompiledQuery } from "kysely";
import {
  compileWithPlaceholders,
  paddedLength,
  ROWS_PER_STATEMENT,
  type Slot,
  withParameters,
} from "../prepared_query.ts";

/**
 * A statement taking a list of ids and fixed named values (`Extra`).
 *
 * @typeParam Extra The named values besides the ids.
 * @typeParam Row What the statement returns.
 */
export class IdListQuery<
  Extra extends Record<string, unknown>,
  Row = unknown,
> {
  readonly #build: (
    ids: readonly number[],
    param: <Name extends keyof Extra & string>(name: Name) => Extra[Name],
  ) => Compilable<Row>;
  /**
   * Per list length, the statement and where each parameter comes from: a
   * place in the list (a number) or a named value. Positional, so a run
   * fills an array instead of making an object keyed "#0", "#1", ... per
   * batch (a tenth of the dependents check's time on Node 20).
   */
  readonly #bySize = new Map<
    number,
    { compiled: CompiledQuery<Row>; slots: Slot<number | string>[] }
  >();

  /**
   * @param build Builds the statement: `ids` are placeholders to put in the
   *   `in` list, `param(name)` the named values.
   */
  constructor(
    build: (
      ids: readonly number[],
      param: <Name extends keyof Extra & string>(name: Name) => Extra[Name],
    ) => Compilable<Row>,
  ) {
    this.#build = build;
  }

  /**
   * The statements for `ids` (any number, none empty; none for no ids),
   * each with at most {@linkcode ROWS_PER_STATEMENT} ids.
   */
  slices(ids: readonly number[], extra: Extra): CompiledQuery<Row>[] {
    const statements: CompiledQuery<Row>[] = [];
    for (let start = 0; start < ids.length; start += ROWS_PER_STATEMENT) {
      statements.push(
        this.#one(ids.slice(start, start + ROWS_PER_STATEMENT), extra),
      );
    }
    return statements;
  }

  #one(ids: readonly number[], extra: Extra): CompiledQuery<Row> {
    const { compiled, slots } = this.#forSize(paddedLength(ids.length));
    const last = ids[ids.length - 1];
    const parameters = new Array<unknown>(slots.length);
    for (let index = 0; index < slots.length; index++) {
      const slot = slots[index]!;
      if (!("key" in slot)) {
        parameters[index] = slot.value;
      } else if (typeof slot.key === "number") {
        parameters[index] = slot.key < ids.length ? ids[slot.key] : last;
      } else {
        parameters[index] = extra[slot.key];
      }
    }
    return withParameters(compiled, parameters);
  }

  #forSize(size: number) {
    let prepared = this.#bySize.get(size);
    if (prepared === undefined) {
      prepared = compileWithPlaceholders<Row, number | string>(
        (param) =>
          this.#build(
            Array.from(
              { length: size },
              (_, index) => param(`#${index}`) as number,
            ),
            param as <Name extends keyof Extra & string>(
              name: Name,
            ) => Extra[Name],
          ),
        // "#3" is the list's fourth id; any other name is a named value.
        (name) => name.startsWith("#") ? Number(name.slice(1)) : name,
      );
      this.#bySize.set(size, prepared);
    }
    return prepared;
  }
}
