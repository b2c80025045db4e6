/**
 * Queries built and compiled by Kysely once, then executed many times with
 * new values.
 *
 * Kysely rebuilds and recompiles a query on every call; for the statements a
 * worker runs per task (settle, history insert, claim) that costs more than
 * SQLite's own work. Building once with placeholder objects and remembering
 * where each lands in the parameter list keeps the SQL written with Kysely
 * while each execution is a parameter swap plus a cached statement.
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
  /** Per parameter slot: the name of a supplied value, or a fixed value. */
  readonly #slots: ReadonlyArray<{ name: string } | { value: unknown }>;

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
    const compiled = build((name) =>
      ({ [PLACEHOLDER]: name }) as unknown as Params[typeof name]
    ).compile();
    this.#compiled = compiled;
    this.#slots = compiled.parameters.map((value) =>
      isPlaceholder(value) ? { name: value[PLACEHOLDER] } : { value }
    );
  }

  /** Runs the query with `params` on `runner`. */
  execute(runner: QueryRunner, params: Params): Promise<QueryResult<Row>> {
    const values = this.#slots.map((slot) =>
      "name" in slot ? params[slot.name] : slot.value
    );
    // Not CompiledQuery.raw(): it freezes the parameter array on every call,
    // which for a 500-row insert costs more than SQLite's work on JSC.
    return runner.executeQuery({ ...this.#compiled, parameters: values });
  }
}

/**
 * A multi-row statement (an `INSERT ... VALUES (...), (...)`) compiled once
 * per row count, so a batch of rows is one statement and one round trip.
 *
 * @typeParam Row The values one row supplies, by column.
 * @typeParam Result The row type the statement returns, if any.
 */
export class PreparedRows<
  Row extends object,
  Result = unknown,
> {
  readonly #columns: readonly (keyof Row & string)[];
  readonly #build: (rows: Row[]) => Compilable<Result>;
  readonly #bySize = new Map<
    number,
    PreparedQuery<Record<string, unknown>, Result>
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

  /** Runs the statement for `rows` (at least one) on `runner`. */
  execute(
    runner: QueryRunner,
    rows: readonly Row[],
  ): Promise<QueryResult<Result>> {
    const params: Record<string, unknown> = {};
    rows.forEach((row, index) => {
      for (const column of this.#columns) {
        params[`${column}${index}`] = row[column];
      }
    });
    return this.#forSize(rows.length).execute(runner, params);
  }

  #forSize(size: number): PreparedQuery<Record<string, unknown>, Result> {
    let query = this.#bySize.get(size);
    if (query === undefined) {
      query = new PreparedQuery<Record<string, unknown>, Result>((param) =>
        this.#build(
          Array.from({ length: size }, (_, index) =>
            Object.fromEntries(
              this.#columns.map((
                column,
              ) => [column, param(`${column}${index}`)]),
            ) as Row),
        )
      );
      this.#bySize.set(size, query);
    }
    return query;
  }
}
