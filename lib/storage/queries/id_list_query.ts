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
import { PreparedQuery, ROWS_PER_STATEMENT } from "../prepared_query.ts";

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
  readonly #bySize = new Map<
    number,
    PreparedQuery<Record<string, unknown>, Row>
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
    let size = 1;
    while (size < ids.length) size *= 2;
    size = Math.min(size, ROWS_PER_STATEMENT);
    let query = this.#bySize.get(size);
    if (query === undefined) {
      query = new PreparedQuery<Record<string, unknown>, Row>((param) =>
        this.#build(
          Array.from(
            { length: size },
            (_, index) => param(`#${index}`) as number,
          ),
          param as <Name extends keyof Extra & string>(
            name: Name,
          ) => Extra[Name],
        ) as Compilable<Row>
      );
      this.#bySize.set(size, query);
    }
    const params: Record<string, unknown> = { ...extra };
    const last = ids[ids.length - 1];
    for (let index = 0; index < size; index++) {
      params[`#${index}`] = index < ids.length ? ids[index] : last;
    }
    return query.with(params);
  }
}
