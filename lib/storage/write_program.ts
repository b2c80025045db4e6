/**
 * Write programs: a write's statements, written once, run either on
 * Kysely's asynchronous executor (any database, and the caller's own
 * transaction) or straight on a synchronous driver's connection within one
 * JS turn (SQLite; see `SqlDialect.writeNow`).
 *
 * A program is a generator: it yields each compiled statement and receives
 * that statement's result, so the same code drives both runners. For the
 * writes a worker makes per task, skipping the asynchronous executor (a
 * connection acquired and released, plugins, several promises per
 * statement) costs less than the statements themselves.
 *
 * @example
 * ```ts ignore
 * function* rename(id: number): WriteProgram<boolean> {
 *   const result = yield* statement(renameQuery.with({ id }));
 *   return Number(result.numAffectedRows ?? 0) > 0;
 * }
 * const renamed = await runProgram(rename(1), trx);
 * ```
 *
 * @module
 */
import type { CompiledQuery, QueryResult } from "kysely";
import type { QueryRunner } from "./prepared_query.ts";

/**
 * A write's statements in order: yields each compiled statement, receives
 * its result, returns the write's value. Runs inside a transaction its
 * runner provides; it never begins or commits one itself.
 *
 * @typeParam T What the write returns.
 */
export type WriteProgram<T> = Generator<
  CompiledQuery<unknown>,
  T,
  QueryResult<unknown>
>;

/** Runs a compiled statement now, on a synchronous driver's connection. */
export type ExecuteNow = (
  query: CompiledQuery<unknown>,
) => QueryResult<unknown>;

/**
 * One statement of a program: `yield* statement(query)` runs `query` and
 * gives its result, typed by the query's row type.
 */
export function* statement<Row>(
  query: CompiledQuery<Row>,
): Generator<CompiledQuery<unknown>, QueryResult<Row>, QueryResult<unknown>> {
  return (yield query) as QueryResult<Row>;
}

/**
 * Runs `program` on `runner` (a Kysely transaction, or the caller's),
 * one statement after another. A failed statement's error ends the program
 * and is thrown as it is.
 */
export async function runProgram<T>(
  program: WriteProgram<T>,
  runner: QueryRunner,
): Promise<T> {
  let step = program.next(undefined as unknown as QueryResult<unknown>);
  while (!step.done) {
    step = program.next(await runner.executeQuery(step.value));
  }
  return step.value;
}

/**
 * Runs `program` to its end now, each statement through `execute`, in the
 * caller's turn. A failed statement's error ends the program and is thrown
 * as it is.
 */
export function runProgramNow<T>(
  program: WriteProgram<T>,
  execute: ExecuteNow,
): T {
  let step = program.next(undefined as unknown as QueryResult<unknown>);
  while (!step.done) step = program.next(execute(step.value));
  return step.value;
}
