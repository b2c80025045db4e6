/**
 * The SQL backend reads a dialect's capability flags, not its name: the
 * claim's SQL follows `claimLocking`, and `parseRow` shapes every row read,
 * prepared statements' included. Run on SQLite, the only database shipped.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { Kysely, type UnknownRow } from "kysely";
import { ImmediateSqliteDialect } from "../lib/drivers/immediate_sqlite_dialect.ts";
import { openSqlite } from "../lib/drivers/open_sqlite.ts";
import type { ClaimLocking } from "../lib/storage/dialect.ts";
import { ClaimTasks } from "../lib/storage/queries/claim_tasks.ts";
import type { SitqSchema } from "../lib/storage/schema.ts";
import { runProgram } from "../lib/storage/write_program.ts";
import { SqlBackend } from "../lib/storage/sql_backend.ts";
import { migrate } from "../lib/storage/sqlite/migrations.ts";
import { SqliteDialect } from "../lib/storage/sqlite/sqlite_dialect.ts";
import { claimRequest, newTask, T0 } from "./conformance/rows.ts";
import { cleanup, closeLater, rejectionOf, tempDbPath } from "./helpers.ts";

afterAll(cleanup);

/** Settings of the dialects built here. */
const SETTINGS = {
  busyTimeout: 5000,
  walSizeLimit: 0,
  synchronous: "full",
} as const;

/** A migrated database whose Kysely logs every statement's SQL to `sqls`. */
async function loggedDatabase(sqls: string[]): Promise<Kysely<SitqSchema>> {
  const path = tempDbPath();
  const db = new Kysely<SitqSchema>({
    dialect: new ImmediateSqliteDialect({ database: () => openSqlite(path) }),
    log: (event) => {
      sqls.push(event.query.sql);
    },
  });
  closeLater({ close: () => db.destroy() });
  await db.transaction().execute((trx) => migrate(trx));
  return db;
}

function claimIn(db: Kysely<SitqSchema>, locking: ClaimLocking) {
  return runProgram(
    new ClaimTasks(db, locking).run(claimRequest({ names: ["t"] })),
    db,
  );
}

describe("claimLocking", () => {
  test('"serialized-writer" claims with a plain select, and the update checks the status again', async () => {
    const sqls: string[] = [];
    const db = await loggedDatabase(sqls);
    await db.insertInto("sitq_tasks").values({
      name: "t",
      args: "[]",
      status: "queued",
      priority: 0,
      run_at: T0,
      max_attempts: 1,
      timeout_ms: null,
      created_at: 0,
    }).execute();
    const claimed = await claimIn(db, "serialized-writer");
    expect(claimed.map((task) => task.attempt)).toEqual([1]);
    const claim = sqls.at(-1)!;
    expect(claim).not.toContain("for update");
    expect(claim).toMatch(/\) and "status" = 'queued' returning /);
  });

  test('"skip-locked" adds FOR UPDATE SKIP LOCKED to the select (which SQLite refuses)', async () => {
    const sqls: string[] = [];
    const db = await loggedDatabase(sqls);
    const error = await rejectionOf(claimIn(db, "skip-locked"));
    expect(String(error)).toContain("syntax error");
    const claim = sqls.at(-1)!;
    // The batch size is written into the SQL (see claim_tasks.ts).
    expect(claim).toMatch(/limit 10 for update skip locked\)/);
    expect(claim).toMatch(/\) and "status" = 'queued' returning /);
  });
});

/** SQLite with a row parser that marks every task name it reads. */
class MarkingDialect extends SqliteDialect {
  parseRow(row: UnknownRow): UnknownRow {
    return typeof row.name === "string"
      ? { ...row, name: `parsed:${row.name}` }
      : row;
  }
}

describe("parseRow", () => {
  test("shapes the rows of plain and prepared statements alike", async () => {
    const dialect = new MarkingDialect(tempDbPath(), SETTINGS);
    const backend = closeLater(new SqlBackend(dialect));
    const [id] = await backend.insertTasks([newTask({ name: "t" })]);
    expect((await backend.getTask(id!))?.name).toBe("parsed:t");
    const { claimed } = await backend.settleAndClaim(
      [],
      claimRequest({ names: ["t"] }),
    );
    expect(claimed.map((task) => task.name)).toEqual(["parsed:t"]);
  });

  test("is not applied where the dialect has none", async () => {
    const dialect = new SqliteDialect(tempDbPath(), SETTINGS);
    const backend = closeLater(new SqlBackend(dialect));
    const [id] = await backend.insertTasks([newTask({ name: "t" })]);
    expect((await backend.getTask(id!))?.name).toBe("t");
  });
});
