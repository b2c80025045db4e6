/**
 * The caller's own database transaction, as sitq sees it: just enough of a
 * Kysely `Transaction` to run one compiled statement on it, declared by
 * shape so that a transaction from the application's own copy of Kysely
 * fits.
 *
 * @module
 */
/**
 * A transaction the application opened on the queue's own database,
 * e.g. the `trx` of Kysely's `db.transaction().execute(async (trx) => ...)`
 * or of `db.startTransaction().execute()`. sitq only runs statements on it;
 * committing or rolling back stays with the application.
 */
export interface DatabaseTransaction {
  /** `true` for a transaction (Kysely's `Transaction` and `ControlledTransaction`). */
  readonly isTransaction: boolean;
  /**
   * Runs one compiled statement in the transaction. sitq passes a Kysely
   * `CompiledQuery` it compiled for the database; the parameter is typed
   * `never` so that the method of any Kysely version fits this shape.
   *
   * @param query The statement.
   * @returns Its rows (for an insert, what its `RETURNING` clause names).
   */
  executeQuery(query: never): Promise<{ readonly rows: readonly unknown[] }>;
}
