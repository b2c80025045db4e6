/**
 * SQLite's synchronous write path (`SqlDialect.writeNow`): a whole write
 * transaction run on the driver's connection within one JS turn. The
 * drivers are synchronous, so every statement is done when it returns;
 * running them straight on the connection spares each one Kysely's
 * asynchronous executor (a connection acquired and released, several
 * promises), which cost more than SQLite's own work for a worker's
 * per-task writes.
 *
 * The transaction is the one Kysely's path would run: `BEGIN IMMEDIATE`
 * (the write lock up front, so the busy timeout applies), the statements,
 * `COMMIT`, or `ROLLBACK` when one fails, the first error being the one
 * thrown; a transaction left open by a failed rollback is ended by the
 * next BEGIN. A write that need not survive power loss runs with
 * `synchronous = normal` (see `relaxed`).
 *
 * @module
 */
import type { CompiledQuery, QueryResult, UnknownRow } from "kysely";
import { isNestedBegin } from "../../drivers/immediate_sqlite_dialect.ts";
import type { ShimDatabase } from "../../drivers/sqlite_shim.ts";
import { runProgramNow, type WriteProgram } from "../write_program.ts";

const NO_PARAMETERS: readonly unknown[] = [];

/** How {@linkcode writeNowOn} commits. */
export interface WriteNowSettings {
  /**
   * Whether to lower `synchronous` to `normal` around this transaction and
   * restore `full` after: set for non-durable writes on a connection at
   * `full`. SQLite refuses to change the level inside a transaction, so
   * the switch wraps it; nothing else runs on the connection meanwhile, as
   * all of it happens within one turn.
   */
  relaxed: boolean;
  /**
   * The dialect's row parsing (`SqlDialect.parseRow`), applied to every
   * row a statement returns, as the Kysely path applies it; none when the
   * dialect has none.
   */
  parseRow?: (row: UnknownRow) => UnknownRow;
}

/** Runs one statement with no parameters and no result. */
function command(shim: ShimDatabase, sql: string): void {
  shim.prepare(sql).run(NO_PARAMETERS);
}

/**
 * Runs `query` on `shim` now, with the result Kysely's SQLite driver would
 * give: rows for a statement that returns rows, the count of changed rows
 * otherwise.
 */
export function executeNow(
  shim: ShimDatabase,
  query: CompiledQuery<unknown>,
  parseRow?: (row: UnknownRow) => UnknownRow,
): QueryResult<unknown> {
  const prepared = shim.prepare(query.sql);
  if (prepared.reader) {
    const rows = prepared.all(query.parameters) as UnknownRow[];
    return { rows: parseRow === undefined ? rows : rows.map(parseRow) };
  }
  const { changes } = prepared.run(query.parameters);
  return { numAffectedRows: BigInt(changes), rows: [] };
}

function begin(shim: ShimDatabase): void {
  try {
    command(shim, "begin immediate");
  } catch (error) {
    if (!isNestedBegin(error)) throw error;
    command(shim, "rollback");
    command(shim, "begin immediate");
  }
}

function transact<T>(
  shim: ShimDatabase,
  program: () => WriteProgram<T>,
  parseRow: ((row: UnknownRow) => UnknownRow) | undefined,
): T {
  begin(shim);
  try {
    const result = runProgramNow(
      program(),
      (query) => executeNow(shim, query, parseRow),
    );
    command(shim, "commit");
    return result;
  } catch (error) {
    try {
      command(shim, "rollback");
    } catch {
      // Ended by SQLite already (a full disk, an I/O error), or the
      // rollback failed too: the first error says what happened, and the
      // next BEGIN ends a transaction this left open.
    }
    throw error;
  }
}

/**
 * Runs `program` in one write transaction on `shim`, now. The caller holds
 * (or may skip, see `AsyncMutex.free`) the process's write lock for the
 * file.
 *
 * @throws What the driver threw, after the rollback.
 */
export function writeNowOn<T>(
  shim: ShimDatabase,
  program: () => WriteProgram<T>,
  settings: WriteNowSettings,
): T {
  const { parseRow } = settings;
  if (!settings.relaxed) return transact(shim, program, parseRow);
  command(shim, "pragma synchronous = normal");
  let result: T;
  try {
    result = transact(shim, program, parseRow);
  } catch (error) {
    // Restore the level, but report why the write failed.
    try {
      command(shim, "pragma synchronous = full");
    } catch {
      // The write's error is the one to report.
    }
    throw error;
  }
  command(shim, "pragma synchronous = full");
  return result;
}
