/**
 * Queries built and compiled by Kysely once, then executed many times with
 * new values.
 *
 * Kysely rebuilds and recompiles a query on every call; for the statements a
 * worker runs per task (settle, history insert, claim) that costs more than
 * SQLite's own work. Building once with placeholder objects and remembering
 * where each lands in the parameter list keeps the SQL written with Kysely
 * while each execution is a parameter swap plus a cached statement. The
 * compiled statements are run by write programs (`write_program.ts`).
 *
 * @module
 */
import type { Compilable, CompiledQuery, QueryResult } from "kysely";

const PLACEHOLDER = Symbol("sitq.placeholder");

interface Placeholder {
  readonly [PLACEHOLDER]: string;
}

function isPlaceholder(value: unknown): value is Placeholder {
  return typeof value === "object" && value !== null && PLACEHOLDER in value;
}

/** Something that runs compiled queries: a Kysely instance or transaction. */
export interface QueryRunner {
  /** Runs a compiled query. */
  executeQuery<R>(query: CompiledQuery<R>): Promise<QueryResult<R>>;
}

/**
 * Where one parameter of a compiled statement comes from: the value a run
 * supplies under `key`, or a value Kysely fixed at compile time.
 */
export type Slot<Key> = { key: Key } | { value: unknown };

/**
 * Builds a query with placeholder objects and compiles it; returns the
 * compiled query and, per parameter slot, the key of the value it takes
 * (mapped by `toKey`) or the fixed value Kysely put there.
 */
export function compileWithPlaceholders<Row, Key>(
  build: (param: (name: string) => unknown) => Compilable<Row>,
  toKey: (name: string) => Key,
): { compiled: CompiledQuery<Row>; slots: Slot<Key>[] } {
  const compiled = build((name) => ({ [PLACEHOLDER]: name })).compile();
  const slots = compiled.parameters.map((value): Slot<Key> =>
    isPlaceholder(value) ? { key: toKey(value[PLACEHOLDER]) } : { value }
  );
  return { compiled, slots };
}

/**
 * `compiled` with new parameters. Not CompiledQuery.raw(): it freezes the
 * parameter array on every call, which for a 500-row insert costs more than
 * SQLite's work on JSC.
 */
export function withParameters<Row>(
  compiled: CompiledQuery<Row>,
  parameters: unknown[],
): CompiledQuery<Row> {
  return { ...compiled, parameters };
}

/**
 * A compiled query with named parameters.
 *
 * @typeParam Params The names and types of the values each run supplies.
 * @typeParam Row The row type the query returns.
 */
export class PreparedQuery<
  Params extends Record<string, unknown>,
  Row = unknown,
> {
  readonly #compiled: CompiledQuery<Row>;
  readonly #slots: readonly Slot<string>[];

  /**
   * Builds and compiles the query once.
   *
   * @param build Builds the query; call `param(name)` wherever a value varies.
   *   Never pass a param to an `in` list (its length is part of the SQL).
   */
  constructor(
    build: (
      param: <Name extends keyof Params & string>(name: Name) => Params[Name],
    ) => Compilable<Row>,
  ) {
    const { compiled, slots } = compileWithPlaceholders(
      build as (param: (name: string) => unknown) => Compilable<Row>,
      (name) => name,
    );
    this.#compiled = compiled;
    this.#slots = slots;
  }

  /** The compiled query with `params` bound, to run. */
  with(params: Params): CompiledQuery<Row> {
    const slots = this.#slots;
    const parameters = new Array<unknown>(slots.length);
    for (let index = 0; index < slots.length; index++) {
      const slot = slots[index]!;
      parameters[index] = "key" in slot ? params[slot.key] : slot.value;
    }
    return withParameters(this.#compiled, parameters);
  }
}

/**
 * The most rows one multi-row statement takes. With sitq's widest row (a
 * task's 7 columns) that stays far below the bound-parameter limits
 * (SQLite's 32,766, PostgreSQL's 65,535), and each distinct row count is one
 * more compiled statement, so bigger batches are cut into slices this size.
 */
export const ROWS_PER_STATEMENT = 500;

/**
 * The length a list of `length` items is padded to before it becomes a
 * statement: the next power of two, at most {@linkcode ROWS_PER_STATEMENT}.
 * A list's length is part of its statement's SQL (an `in` list, a `VALUES`
 * list), so padding keeps a backend at a handful of statements per query
 * rather than one per batch size.
 */
export function paddedLength(length: number): number {
  let size = 1;
  while (size < length) size *= 2;
  return Math.min(size, ROWS_PER_STATEMENT);
}

/**
 * `items` in slices of at most {@linkcode ROWS_PER_STATEMENT}, none empty:
 * `items` itself when it fits in one, as a worker's batches always do.
 */
export function statementSlices<T>(items: readonly T[]): (readonly T[])[] {
  if (items.length === 0) return [];
  if (items.length <= ROWS_PER_STATEMENT) return [items];
  const slices: T[][] = [];
  for (let start = 0; start < items.length; start += ROWS_PER_STATEMENT) {
    slices.push(items.slice(start, start + ROWS_PER_STATEMENT));
  }
  return slices;
}

/**
 * A multi-row statement (an `INSERT ... VALUES (...), (...)`) compiled once
 * per row count, so a batch of rows is one statement and one round trip.
 *
 * @typeParam Row The values one row supplies, by column.
 * @typeParam Result The row type the statement returns, if any.
 */
export class PreparedRows<Row extends object, Result = unknown> {
  readonly #columns: readonly (keyof Row & string)[];
  readonly #build: (rows: Row[]) => Compilable<Result>;
  readonly #bySize = new Map<
    number,
    {
      compiled: CompiledQuery<Result>;
      slots: Slot<{ row: number; column: keyof Row }>[];
    }
  >();

  /**
   * @param columns Every key of `Row`: each becomes one parameter per row.
   * @param build Builds the statement for the rows it is given, whose
   *   values are placeholders.
   */
  constructor(
    columns: readonly (keyof Row & string)[],
    build: (rows: Row[]) => Compilable<Result>,
  ) {
    this.#columns = columns;
    this.#build = build;
  }

  /** The statement for `rows` (at least one) with their values bound, to run. */
  with(rows: readonly Row[]): CompiledQuery<Result> {
    const { compiled, slots } = this.#forSize(rows.length);
    // Positional, straight from the rows: no per-call map of named values.
    const parameters = new Array<unknown>(slots.length);
    for (let index = 0; index < slots.length; index++) {
      const slot = slots[index]!;
      // An optional field left out (a row's `queue`) binds as NULL: some
      // drivers refuse undefined.
      parameters[index] = "key" in slot
        ? rows[slot.key.row]![slot.key.column] ?? null
        : slot.value;
    }
    return withParameters(compiled, parameters);
  }

  #forSize(size: number) {
    let prepared = this.#bySize.get(size);
    if (prepared === undefined) {
      const columns = this.#columns;
      prepared = compileWithPlaceholders(
        (param) =>
          this.#build(Array.from({ length: size }, (_, row) => {
            const placeholders: Record<string, unknown> = {};
            for (const column of columns) {
              placeholders[column] = param(JSON.stringify([row, column]));
            }
            return placeholders as Row;
          })),
        (name) => {
          const [row, column] = JSON.parse(name) as [number, keyof Row];
          return { row, column };
        },
      );
      this.#bySize.set(size, prepared);
    }
    return prepared;
  }
}
