/**
 * The SQL backend's hot statements, compiled on first use against the open
 * database and shared by the modules that write with them
 * (`sql_backend.ts`, `task_writes.ts`, `worker_writes.ts`,
 * `task_edits.ts`, `task_control.ts`, `schedule_store.ts`,
 * `user_transactions.ts`). One instance for the backend's life: a failed
 * open is retried on a new database, but nothing is compiled before an
 * open succeeds.
 *
 * @module
 */
import type { Kysely } from "kysely";
import { DEFAULT_CLAIM_LOCKING, type SqlDialect } from "./dialect.ts";
import { InsertGraph } from "./queries/insert_graph.ts";
import { InsertRows } from "./queries/insert_rows.ts";
import { LimitedQueuesHint } from "./queries/queue_claims.ts";
import { Dependents } from "./queries/release_dependents.ts";
import { SettleAndClaim } from "./queries/settle_and_claim.ts";
import type { SitqSchema } from "./schema.ts";
import type { SqlSession } from "./sql_session.ts";

/** The compiled statements of one SQL backend. */
export class SqlStatements {
  readonly #dialect: SqlDialect;
  #insert: InsertRows | undefined;
  #settleAndClaim: SettleAndClaim | undefined;
  #dependents: Dependents | undefined;
  #graph: InsertGraph | undefined;
  /** Whether some queue may be limited (`queries/queue_claims.ts`). */
  readonly limits: LimitedQueuesHint = new LimitedQueuesHint();

  /** @param dialect What the database supplies (its claim locking). */
  constructor(dialect: SqlDialect) {
    this.#dialect = dialect;
  }

  /** The plain and keyed insert, compiled for `db`. */
  insertFor(db: Kysely<SitqSchema>): InsertRows {
    return this.#insert ??= new InsertRows(db);
  }

  #locking() {
    return this.#dialect.claimLocking ?? DEFAULT_CLAIM_LOCKING;
  }

  /** The dependency statements, compiled for `db`. */
  dependentsFor(db: Kysely<SitqSchema>): Dependents {
    return this.#dependents ??= new Dependents(db, this.#locking());
  }

  /** The workflow insert, compiled for `db`. */
  graphFor(db: Kysely<SitqSchema>): InsertGraph {
    return this.#graph ??= new InsertGraph(
      db,
      this.#locking(),
      this.dependentsFor(db),
    );
  }

  /** The generic settle-and-claim transaction, compiled for `db`. */
  settleAndClaimFor(db: Kysely<SitqSchema>): SettleAndClaim {
    return this.#settleAndClaim ??= new SettleAndClaim(
      db,
      this.#locking(),
      this.limits,
      this.#dialect.nextRunLookup ?? "claim-index",
    );
  }
}

/** What each of the SQL backend's helper objects runs on. */
export interface SqlParts {
  /** The open database. */
  readonly session: SqlSession;
  /** What the database supplies. */
  readonly dialect: SqlDialect;
  /** The compiled statements. */
  readonly statements: SqlStatements;
}
