/**
 * Kysely's SQLite dialect with transactions that start `BEGIN IMMEDIATE`.
 *
 * Kysely always sends a deferred `begin` (kysely-org/kysely#1152, declined).
 * A deferred transaction that reads and then writes can fail with
 * `SQLITE_BUSY` at once, without waiting for the busy timeout, when another
 * process committed in between; `IMMEDIATE` takes the write lock up front so
 * the busy timeout applies.
 *
 * A transaction left open by a failed rollback is ended by the next BEGIN
 * instead of failing every write after it.
 *
 * @module
 */
import {
  CompiledQuery,
  type DatabaseConnection,
  type Driver,
  SqliteDialect,
  type SqliteDialectConfig,
  SqliteDriver,
} from "kysely";

const BEGIN = CompiledQuery.raw("begin immediate");

class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(
    connection: DatabaseConnection,
  ): Promise<void> {
    try {
      await connection.executeQuery(BEGIN);
    } catch (error) {
      if (!isNestedBegin(error)) throw error;
      // Transactions on this one connection never nest, so one is still
      // open only because its rollback failed after an error: end it, or
      // every later write fails here and the write lock stays held.
      await connection.executeQuery(CompiledQuery.raw("rollback"));
      await connection.executeQuery(BEGIN);
    }
  }
}

/**
 * Whether `error` is SQLite refusing a BEGIN inside an open transaction.
 * sitq's transactions on one connection never nest, so one is still open
 * only because its rollback failed after an error: it is rolled back and
 * the BEGIN tried again.
 */
export function isNestedBegin(error: unknown): boolean {
  return error instanceof Error &&
    error.message.includes("cannot start a transaction within a transaction");
}

/** A `SqliteDialect` whose transactions begin immediately. */
export class ImmediateSqliteDialect extends SqliteDialect {
  // SqliteDialect keeps its config private, so keep a copy for createDriver.
  readonly #config: SqliteDialectConfig;

  /** @param config The same config `SqliteDialect` takes. */
  constructor(config: SqliteDialectConfig) {
    super(config);
    this.#config = config;
  }

  /** Creates the driver that begins transactions with `BEGIN IMMEDIATE`. */
  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.#config);
  }
}
