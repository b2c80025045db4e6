/**
 * `queue.inTransaction(trx)` on SQLite: tasks enqueued in a transaction
 * commit and roll back with the application's rows, whether the transaction
 * is the backend's own (`backend.transaction(fn)`, the in-process way) or
 * one the application opened on its own connection to the same file (the
 * way of another process; here Kysely's SqliteDialect over bun:sqlite, the
 * adapter below giving bun:sqlite the statement shape that dialect drives).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { Database, type Statement } from "bun:sqlite";
import { type Generated, Kysely, SqliteDialect } from "kysely";
import {
  InvalidStateError,
  SQLiteBackend,
  type TaskId,
  TaskQueue,
  UnknownTaskError,
} from "../mod.ts";
import { cleanupTempDirs, tempDbPath } from "./helpers.ts";

afterAll(cleanupTempDirs);

interface AppSchema {
  orders: { id: Generated<number>; item: string };
}

/** bun:sqlite in the shape of better-sqlite3, which SqliteDialect drives. */
function kyselyOn(path: string): Kysely<AppSchema> {
  const database = new Database(path);
  database.run("PRAGMA busy_timeout = 5000");
  const wrap = (statement: Statement) => ({
    reader: statement.columnNames.length > 0,
    all: (parameters: readonly unknown[]) =>
      statement.all(...(parameters as never[])),
    run: (parameters: readonly unknown[]) =>
      statement.run(...(parameters as never[])),
    iterate: (parameters: readonly unknown[]) =>
      statement.iterate(...(parameters as never[])),
  });
  return new Kysely<AppSchema>({
    dialect: new SqliteDialect({
      database: {
        prepare: (sql: string) => wrap(database.prepare(sql)),
        close: () => database.close(),
      },
    }),
  });
}

async function setUp() {
  const path = tempDbPath();
  const queue = new TaskQueue(new SQLiteBackend(path));
  const confirm = queue.task("order.confirm", (orderId: number) => orderId);
  await queue.backend.open(); // the schema exists before the app writes
  const db = kyselyOn(path);
  await db.schema.createTable("orders")
    .addColumn("id", "integer", (c) => c.primaryKey())
    .addColumn("item", "text", (c) => c.notNull()).execute();
  return { queue, confirm, db };
}

const total = async (queue: TaskQueue) =>
  Object.values(await queue.stats()).reduce((a, b) => a + b, 0);

describe("backend.transaction with queue.inTransaction", () => {
  test("a commit stores the tasks with the application's row; an idle worker wakes at once", async () => {
    const path = tempDbPath();
    const backend = new SQLiteBackend(path);
    const queue = new TaskQueue(backend);
    const confirm = queue.task("order.confirm", (orderId: number) => orderId);
    // An hour between polls: only the commit's own wake-up can start it.
    const worker = queue.worker({ pollInterval: 3_600_000 });
    await worker.start();
    const ids = await backend.transaction<TaskId<number>[], AppSchema>(
      async (trx) => {
        await trx.schema.createTable("orders")
          .addColumn("id", "integer", (c) => c.primaryKey())
          .addColumn("item", "text", (c) => c.notNull()).execute();
        const order = await trx.insertInto("orders").values({ item: "tea" })
          .returning("id").executeTakeFirstOrThrow();
        const one = await queue.inTransaction(trx).enqueue(confirm, order.id);
        const two = await queue.inTransaction(trx).enqueueMany(confirm, [[
          order.id + 1,
        ]]);
        return [one, ...two];
      },
    );
    const results = await Promise.all(
      ids.map((id) => queue.waitForResult(id, { timeout: 20_000 })),
    );
    expect(results.map((r) => r.status === "completed" && r.value)).toEqual([
      1,
      2,
    ]);
    await worker.stop();
    await queue.close();
  });

  test("a throw rolls back the application's rows and the tasks", async () => {
    const backend = new SQLiteBackend(tempDbPath());
    const queue = new TaskQueue(backend);
    const confirm = queue.task("order.confirm", (orderId: number) => orderId);
    await backend.transaction<void, AppSchema>(async (trx) => {
      await trx.schema.createTable("orders")
        .addColumn("id", "integer", (c) => c.primaryKey())
        .addColumn("item", "text", (c) => c.notNull()).execute();
    });
    const failure = await backend.transaction<void, AppSchema>(async (trx) => {
      await trx.insertInto("orders").values({ item: "cake" }).execute();
      await queue.inTransaction(trx).enqueue(confirm, 7);
      throw new Error("payment declined");
    }).catch((error: Error) => error);
    expect((failure as Error).message).toBe("payment declined");
    expect(await total(queue)).toBe(0);
    const orders = await backend.transaction<unknown[], AppSchema>((trx) =>
      trx.selectFrom("orders").selectAll().execute()
    );
    expect(orders).toEqual([]);
    await queue.close();
  });

  test("a plain enqueue or read inside it fails at once instead of waiting for itself", async () => {
    const backend = new SQLiteBackend(tempDbPath());
    const queue = new TaskQueue(backend);
    const confirm = queue.task("order.confirm", (orderId: number) => orderId);
    const id = await backend.transaction(async (trx) => {
      await expect(queue.enqueue(confirm, 1)).rejects.toThrow(
        /inside its own transaction\(\).*queue\.inTransaction\(trx\)/,
      );
      await expect(queue.stats()).rejects.toBeInstanceOf(InvalidStateError);
      await expect(backend.transaction(async () => {})).rejects
        .toBeInstanceOf(InvalidStateError);
      return await queue.inTransaction(trx).enqueue(confirm, 2);
    });
    // The refused calls wrote nothing; the transaction itself committed.
    expect(await total(queue)).toBe(1);
    expect((await queue.getTask(id)).args).toEqual([2]);
    // Outside the transaction the same calls work again.
    await queue.enqueue(confirm, 3);
    expect(await total(queue)).toBe(2);
    await queue.close();
  });
});

describe("queue.inTransaction on the application's own connection", () => {
  test("a commit stores the task with the application's row", async () => {
    const { queue, confirm, db } = await setUp();
    const ids = await db.transaction().execute(async (trx) => {
      const order = await trx.insertInto("orders").values({ item: "tea" })
        .returning("id").executeTakeFirstOrThrow();
      const single = await queue.inTransaction(trx).enqueue(
        confirm,
        order.id,
      );
      const many = await queue.inTransaction(trx).enqueueMany(
        confirm,
        [[order.id], [order.id + 100]],
        { priority: 2 },
      );
      return [single, ...many];
    });
    expect(ids).toHaveLength(3);
    expect(new Set(ids).size).toBe(3);
    const record = await queue.getTask(ids[1]!);
    expect(record.status).toBe("queued");
    expect(record.priority).toBe(2);
    expect(record.args).toEqual([1]);
    expect(await db.selectFrom("orders").select("item").execute()).toEqual([
      { item: "tea" },
    ]);
    // The application's connection is closed before a worker runs here:
    // within one process, a second connection must not wait for sitq's
    // write lock (see backend.transaction); other processes may.
    await db.destroy();
    const worker = queue.worker();
    await worker.start();
    const results = await Promise.all(
      ids.map((id) => queue.waitForResult(id, { timeout: 10_000 })),
    );
    expect(results.map((r) => r.status === "completed" && r.value)).toEqual([
      1,
      1,
      101,
    ]);
    await worker.stop();
    await queue.close();
  });

  test("a rollback leaves neither the application's row nor the task", async () => {
    const { queue, confirm, db } = await setUp();
    let id: TaskId<number> | undefined;
    const failure = await db.transaction().execute(async (trx) => {
      await trx.insertInto("orders").values({ item: "cake" }).execute();
      id = await queue.inTransaction(trx).enqueue(confirm, 7);
      throw new Error("payment declined");
    }).catch((error: Error) => error);
    expect(failure).toBeInstanceOf(Error);
    expect((failure as Error).message).toBe("payment declined");
    expect(id).toBeDefined();
    expect(await db.selectFrom("orders").selectAll().execute()).toEqual([]);
    expect(await total(queue)).toBe(0);
    await expect(queue.getTask(id!)).rejects.toMatchObject({
      code: "TASK_NOT_FOUND",
    });
    // The queue itself is unharmed: it enqueues and counts as before.
    await queue.enqueue(confirm, 8);
    expect(await total(queue)).toBe(1);
    await db.destroy();
    await queue.close();
  });

  test("a value that is not a transaction is refused before anything is written", async () => {
    const { queue, confirm, db } = await setUp();
    expect(() => queue.inTransaction(db as never)).toThrow(
      /is not a transaction.*db\.transaction\(\)\.execute/,
    );
    expect(() => queue.inTransaction("tasks.db" as never)).toThrow(
      /must be a Kysely transaction.*current value is string/,
    );
    expect(() => queue.inTransaction(null as never)).toThrow(
      /current value is null/,
    );
    const other = new TaskQueue(new SQLiteBackend(":memory:"));
    const stranger = other.task("stranger", () => 1);
    await db.transaction().execute(async (trx) => {
      await expect(queue.inTransaction(trx).enqueue(stranger)).rejects
        .toBeInstanceOf(UnknownTaskError);
      await expect(
        queue.inTransaction(trx).enqueueMany(confirm, "nope" as never),
      ).rejects.toThrow(/must be an array of argument lists/);
    });
    expect(await total(queue)).toBe(0);
    await other.close();
    await db.destroy();
    await queue.close();
  });
});
