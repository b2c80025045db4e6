/**
 * Kysely's SQLite dialect with transactions that start `BEGIN IMMEDIATE`.
 *
 * Kysely always sends a deferred `begin` (kysely-org/kysely#1152, declined).
 * A deferred transaction that reads and then writes can fail with
 * `SQLITE_BUSY` at once, without waiting for the busy timeout, when another
 * process committed in between; `IMMEDIATE` takes the write lock up front so
 * the busy timeout applies.
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

class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(
    connection: DatabaseConnection,
  ): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw("begin immediate"));
  }
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
