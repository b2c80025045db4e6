/**
 * SQLiteBackend on real files: bad arguments, files it cannot use, schema
 * versions, migrations in place, several connections, closing, locks, WAL,
 * and the driver picked on Bun. The file is inspected with bun:sqlite
 * directly, never through sitq, wherever the point is what is on disk.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { randomBytes } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { Kysely } from "kysely";
import {
  DatabaseError,
  SQLiteBackend,
  SuperJsonSerializer,
  TaskNotFoundError,
  TaskQueue,
} from "../mod.ts";
import { ImmediateSqliteDialect } from "../lib/drivers/immediate_sqlite_dialect.ts";
import { openSqlite } from "../lib/drivers/open_sqlite.ts";
import { migrate, SCHEMA_VERSION } from "../lib/storage/sqlite/migrations.ts";
import type { SitqSchema } from "../lib/storage/schema.ts";
import {
  cleanup,
  closeLater,
  completed,
  expectCompleted,
  newQueue,
  numberedArgs,
  rejectionOf,
  tempDbPath,
  tempDir,
  thrownBy,
  whileRunning,
  withRaw,
} from "./helpers.ts";

afterAll(cleanup);

/** Asserts `error` is a DatabaseError with `code`. */
function expectDatabaseError(
  error: unknown,
  code: DatabaseError["code"],
): void {
  expect(error).toBeInstanceOf(DatabaseError);
  expect((error as DatabaseError).code).toBe(code);
}

function schemaVersion(path: string): string | undefined {
  return withRaw(
    path,
    (db) =>
      (db.query("select value from sitq_meta where key = 'schema_version'")
        .get() as { value: string } | null)?.value,
  );
}

function tableNames(path: string): string[] {
  return withRaw(
    path,
    (db) =>
      (db.query("select name from sqlite_master where type = 'table'")
        .all() as Array<{ name: string }>).map((row) => row.name),
  );
}

describe("new SQLiteBackend() arguments", () => {
  test("new SQLiteBackend() rejects an empty or blank path with a TypeError", () => {
    for (const path of ["", "   "]) {
      expect(() => new SQLiteBackend(path)).toThrow(TypeError);
      expect(() => new SQLiteBackend(path)).toThrow(
        /'path' must be a file path or ":memory:"/,
      );
    }
  });

  test("new SQLiteBackend() rejects a path that is not a string", () => {
    for (const path of [undefined, null, 42, {}]) {
      expect(() => new SQLiteBackend(path as unknown as string)).toThrow(
        TypeError,
      );
    }
  });

  test("new SQLiteBackend() names an unknown option in its TypeError", () => {
    expect(() =>
      new SQLiteBackend(":memory:", { timeout: 5 } as unknown as object)
    ).toThrow(/'timeout' is not an option/);
    expect(() =>
      new SQLiteBackend(":memory:", { busy_timeout: 5 } as unknown as object)
    ).toThrow(TypeError);
  });

  test('new SQLiteBackend() refuses synchronous: "off", which would risk losing committed tasks', () => {
    const error = thrownBy(() =>
      new SQLiteBackend(":memory:", {
        synchronous: "off" as unknown as "full",
      })
    );
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toContain('"full" or "normal"');
    expect((error as Error).message).toContain('"off"');
  });

  test("new SQLiteBackend() rejects a negative or non-numeric busyTimeout", () => {
    expect(() => new SQLiteBackend(":memory:", { busyTimeout: -1 })).toThrow(
      RangeError,
    );
    expect(() =>
      new SQLiteBackend(":memory:", {
        busyTimeout: "5s" as unknown as number,
      })
    ).toThrow(TypeError);
  });

  test("new SQLiteBackend() opens nothing until first use", () => {
    const path = tempDbPath();
    const backend = closeLater(new SQLiteBackend(path));
    expect(existsSync(path)).toBe(false);
    expect(backend.driverName).toBeUndefined();
    expect(backend.path).toBe(path);
  });
});

describe("files SQLiteBackend cannot use", () => {
  test("SQLiteBackend.open() fails with CANNOT_OPEN for a path in a missing directory", async () => {
    const path = join(tempDir(), "no", "such", "dir", "tasks.db");
    const backend = closeLater(new SQLiteBackend(path));
    const error = await rejectionOf(backend.open());
    expectDatabaseError(error, "CANNOT_OPEN");
    expect((error as Error).message).toContain(path);
    expect((error as Error).message).toContain("directory");
    expect(existsSync(dirname(path))).toBe(false);
  });

  test("TaskQueue.enqueue() fails with CANNOT_OPEN for a path in a missing directory", async () => {
    const path = join(tempDir(), "missing", "tasks.db");
    const queue = newQueue({}, path);
    const task = queue.task("t", () => {});
    expectDatabaseError(await rejectionOf(queue.enqueue(task)), "CANNOT_OPEN");
    expect(existsSync(dirname(path))).toBe(false);
  });

  test("SQLiteBackend.open() tries again after CANNOT_OPEN once the directory exists", async () => {
    const dir = join(tempDir(), "later");
    const backend = closeLater(new SQLiteBackend(join(dir, "tasks.db")));
    expectDatabaseError(await rejectionOf(backend.open()), "CANNOT_OPEN");
    mkdirSync(dir);
    await backend.open();
    expect(backend.driverName).toBe("bun:sqlite");
    expect(schemaVersion(join(dir, "tasks.db"))).toBe(String(SCHEMA_VERSION));
  });

  test("SQLiteBackend refuses a file that is not a database with NOT_A_DATABASE and leaves its bytes alone", async () => {
    const path = join(tempDir(), "notes.txt");
    const text = Array.from(
      { length: 64 },
      (_, i) => `line ${i}: ${randomBytes(24).toString("base64")}\n`,
    ).join("");
    writeFileSync(path, text);
    const before = readFileSync(path);

    const backend = closeLater(new SQLiteBackend(path));
    const error = await rejectionOf(backend.open());
    expectDatabaseError(error, "NOT_A_DATABASE");
    expect((error as Error).message).toContain(path);

    const queue = newQueue({}, path);
    const task = queue.task("t", () => {});
    expectDatabaseError(
      await rejectionOf(queue.enqueue(task)),
      "NOT_A_DATABASE",
    );

    await backend.close();
    await queue.close();
    expect(readFileSync(path).equals(before)).toBe(true);
  });

  test("SQLiteBackend refuses a database written by a newer sitq with SCHEMA_TOO_NEW and keeps its tasks", async () => {
    const path = tempDbPath();
    const writer = new TaskQueue(new SQLiteBackend(path));
    const task = writer.task("keep", (s: string) => s);
    const ids = await writer.enqueueMany(task, [["a"], ["b"]]);
    await writer.close();
    const newer = SCHEMA_VERSION + 5;
    withRaw(path, (db) =>
      db.run(
        "update sitq_meta set value = ? where key = 'schema_version'",
        [String(newer)],
      ));
    const rowsBefore = withRaw(
      path,
      (db) => db.query("select * from sitq_tasks order by id").all(),
    );

    const queue = newQueue({}, path);
    queue.task("keep", (s: string) => s);
    const error = await rejectionOf(queue.getTask(ids[0]!));
    expectDatabaseError(error, "SCHEMA_TOO_NEW");
    expect((error as Error).message).toContain(`version ${newer}`);
    expect((error as Error).message).toContain("upgrade sitq");
    await queue.close();

    expect(schemaVersion(path)).toBe(String(newer));
    const rowsAfter = withRaw(
      path,
      (db) => db.query("select * from sitq_tasks order by id").all(),
    );
    expect(rowsAfter).toEqual(rowsBefore);
    expect(rowsAfter).toHaveLength(2);
  });
});

describe("schema migrations", () => {
  test("SQLiteBackend upgrades a version 1 database in place and keeps its tasks", async () => {
    const path = tempDbPath();
    // Build a real v1 database with the v1 migration alone.
    const v1 = new Kysely<SitqSchema>({
      dialect: new ImmediateSqliteDialect({ database: () => openSqlite(path) }),
    });
    await v1.transaction().execute(async (trx) => {
      expect(await migrate(trx, 1)).toBe(0);
    });
    await v1.destroy();
    expect(schemaVersion(path)).toBe("1");
    expect(tableNames(path)).not.toContain("sitq_attempts");

    // A task as sitq v1 stored it: no progress column, no history table.
    const serializer = new SuperJsonSerializer();
    const createdAt = Date.UTC(2025, 0, 1);
    withRaw(path, (db) =>
      db.run(
        `insert into sitq_tasks
           (name, args, status, priority, run_at, attempts, max_attempts,
            timeout_ms, created_at)
         values (?, ?, 'queued', 3, ?, 0, 4, 1500, ?)`,
        [
          "legacy",
          serializer.serialize([new Date(createdAt), "x"]),
          createdAt,
          createdAt,
        ],
      ));

    const queue = newQueue({}, path);
    const legacy = queue.task(
      "legacy",
      (when: Date, s: string) => `${s}@${when.getTime()}`,
    );
    const record = await queue.getTask(1);
    expect(record.name).toBe("legacy");
    expect(record.status).toBe("queued");
    expect(record.priority).toBe(3);
    expect(record.maxAttempts).toBe(4);
    expect(record.timeout).toBe(1500);
    expect(record.createdAt.getTime()).toBe(createdAt);
    expect(record.args[0]).toBeInstanceOf(Date);
    expect(record.args[1]).toBe("x");
    expect(record.history).toEqual([]);
    expect(record.progress).toBeUndefined();

    expect(schemaVersion(path)).toBe(String(SCHEMA_VERSION));
    expect(tableNames(path)).toContain("sitq_attempts");

    // The upgraded database works end to end: run the old task, record history.
    expect(await queue.worker({ tasks: [legacy] }).processOne()).toBe(true);
    const done = await queue.getTask(1);
    expect(done.result).toEqual(completed(`x@${createdAt}`));
    expect(done.history.map((attempt) => attempt.outcome)).toEqual([
      "completed",
    ]);
    // New tasks continue the id sequence.
    expect(await queue.enqueue(legacy, new Date(0), "y")).toBe(2);
  });

  test("SQLiteBackend creates a new file at the current schema version", async () => {
    const path = tempDbPath();
    const backend = closeLater(new SQLiteBackend(path));
    await backend.open();
    expect(existsSync(path)).toBe(true);
    expect(schemaVersion(path)).toBe(String(SCHEMA_VERSION));
    expect(tableNames(path)).toEqual(
      expect.arrayContaining(["sitq_tasks", "sitq_attempts", "sitq_meta"]),
    );
  });

  test("SQLiteBackend reopens its own database without migrating again or losing tasks", async () => {
    const path = tempDbPath();
    const first = new TaskQueue(new SQLiteBackend(path));
    const task = first.task("t", (n: number) => n);
    const id = await first.enqueue(task, 5);
    await first.close();
    const second = newQueue({}, path);
    expect((await second.getTask(id)).args).toEqual([5]);
    expect(schemaVersion(path)).toBe(String(SCHEMA_VERSION));
  });
});

describe("connections", () => {
  test("SQLiteBackends naming one file by different paths write concurrently without DATABASE_LOCKED", async () => {
    const dir = tempDir();
    mkdirSync(join(dir, "db"));
    symlinkSync(join(dir, "db"), join(dir, "link"));
    const spellings = [
      join(dir, "db", "t.db"),
      join(dir, "db", ".", "t.db"),
      join(dir, "link", "t.db"),
    ];
    // busyTimeout 0: a writer that waited on another in-process connection's
    // lock would fail at once instead of blocking the event loop.
    const queues = spellings.map((path) =>
      newQueue({ backend: { busyTimeout: 0 } }, path)
    );
    const tasks = queues.map((queue) => queue.task("t", (n: number) => n));
    await Promise.all(
      queues.flatMap((queue, q) =>
        Array.from({ length: 20 }, (_, n) => queue.enqueue(tasks[q]!, n))
      ),
    );
    expect((await queues[0]!.stats()).queued).toBe(60);
  });

  test("two SQLiteBackends on one file see each other's writes", async () => {
    const path = tempDbPath();
    const a = newQueue({}, path);
    const b = newQueue({}, path);
    const taskA = a.task("t", (n: number) => n * 10);
    const taskB = b.task("t", (n: number) => n * 10);

    const fromA = await a.enqueue(taskA, 1);
    expect((await b.getTask(fromA)).args).toEqual([1]);
    const fromB = await b.enqueue(taskB, 2);
    expect((await a.getTask(fromB)).args).toEqual([2]);
    expect(fromB).toBeGreaterThan(fromA);

    await b.cancel(fromA);
    expect((await a.getResult(fromA)).status).toBe("cancelled");

    expect(await b.worker().processOne()).toBe(true);
    expect(await a.getResult(fromB)).toEqual(completed(20));
    expect(await a.stats()).toEqual(await b.stats());
  });

  test("TaskQueue.waitForResult() wakes for a completion committed by another connection", async () => {
    const path = tempDbPath();
    const waiter = newQueue({}, path);
    const runner = newQueue({}, path);
    const task = waiter.task("t", (s: string) => s.length);
    runner.task("t", (s: string) => s.length);
    const id = await waiter.enqueue(task, "four");
    await whileRunning(runner.worker(), () => expectCompleted(waiter, id, 4));
  });

  test('a ":memory:" backend shared by a queue and its worker holds one database', async () => {
    const backend = new SQLiteBackend(":memory:");
    const queue = closeLater(new TaskQueue(backend));
    const task = queue.task("sq", (n: number) => n * n);
    const id = await queue.enqueue(task, 9);
    const worker = queue.worker();
    expect(worker.backend).toBe(backend);
    await whileRunning(worker, () => expectCompleted(queue, id, 81));
    expect(backend.driverName).toBe("bun:sqlite");
  });

  test('two ":memory:" backends are separate databases', async () => {
    const a = newQueue({}, ":memory:");
    const b = newQueue({}, ":memory:");
    const task = a.task("t", () => {});
    const id = await a.enqueue(task);
    expect((await a.stats()).queued).toBe(1);
    expect(await rejectionOf(b.getTask(id))).toBeInstanceOf(TaskNotFoundError);
    expect((await b.stats()).queued).toBe(0);
  });
});

describe("SQLiteBackend.close()", () => {
  test("SQLiteBackend.close() can be called twice", async () => {
    const backend = new SQLiteBackend(tempDbPath());
    await backend.open();
    await backend.close();
    await backend.close();
  });

  test("SQLiteBackend.close() before any use is fine", async () => {
    const path = tempDbPath();
    const backend = new SQLiteBackend(path);
    await backend.close();
    await backend.close();
    expect(existsSync(path)).toBe(false);
  });

  test("a closed SQLiteBackend refuses every use with CLOSED", async () => {
    const backend = new SQLiteBackend(tempDbPath());
    const queue = new TaskQueue(backend);
    const task = queue.task("t", () => {});
    const id = await queue.enqueue(task);
    await queue.close();
    expectDatabaseError(await rejectionOf(queue.enqueue(task)), "CLOSED");
    expectDatabaseError(await rejectionOf(queue.getResult(id)), "CLOSED");
    expectDatabaseError(await rejectionOf(queue.stats()), "CLOSED");
    expectDatabaseError(await rejectionOf(backend.open()), "CLOSED");
    const error = await rejectionOf(queue.listTasks());
    expectDatabaseError(error, "CLOSED");
    expect((error as Error).message).toContain("create a new backend");
  });

  test("a SQLiteBackend closed before it was opened refuses use with CLOSED", async () => {
    const path = tempDbPath();
    const queue = new TaskQueue(new SQLiteBackend(path));
    const task = queue.task("t", () => {});
    await queue.close();
    expectDatabaseError(await rejectionOf(queue.enqueue(task)), "CLOSED");
    expect(existsSync(path)).toBe(false);
  });

  test("a closed SQLiteBackend's tasks are all there for the next backend", async () => {
    const path = tempDbPath();
    const first = new TaskQueue(new SQLiteBackend(path));
    const task = first.task("t", (n: number) => n);
    const ids = await first.enqueueMany(task, numberedArgs(50));
    await first.close();
    const second = newQueue({}, path);
    expect((await second.stats()).queued).toBe(50);
    expect((await second.getTask(ids[49]!)).args).toEqual([49]);
  });
});

describe("locks held by another connection", () => {
  test("TaskQueue.enqueue() fails with DATABASE_LOCKED while another connection holds the write lock, then works once it is released", async () => {
    const path = tempDbPath();
    const queue = newQueue({ backend: { busyTimeout: 100 } }, path);
    const task = queue.task("t", (n: number) => n);
    const before = await queue.enqueue(task, 1);

    const locker = new Database(path);
    try {
      locker.run("begin immediate");
      locker.run("insert into sitq_meta (key, value) values ('probe', 'x')");
      const error = await rejectionOf(queue.enqueue(task, 2));
      expectDatabaseError(error, "DATABASE_LOCKED");
      expect((error as Error).message).toContain("busyTimeout");
      // Reads still work under WAL while the writer holds its lock.
      expect((await queue.getTask(before)).args).toEqual([1]);
      locker.run("commit");
    } finally {
      locker.close();
    }

    const after = await queue.enqueue(task, 3);
    expect(after).toBeGreaterThan(before);
    const { tasks } = await queue.listTasks();
    expect(tasks.map((record) => record.args)).toEqual([[3], [1]]);
    expect((await queue.stats()).queued).toBe(2);
    expect(
      withRaw(path, (db) =>
        (db.query("pragma integrity_check").get() as {
          integrity_check: string;
        })
          .integrity_check),
    ).toBe("ok");
  });

  test("SQLiteBackend.open() fails with DATABASE_LOCKED while another connection holds the write lock, and succeeds on a later call", async () => {
    const path = tempDbPath();
    // Create the file in WAL mode first, as a previous run would have.
    const setup = new SQLiteBackend(path);
    await setup.open();
    await setup.close();

    const backend = closeLater(new SQLiteBackend(path, { busyTimeout: 100 }));
    const queue = new TaskQueue(backend);
    const task = queue.task("t", (n: number) => n);
    const locker = new Database(path);
    try {
      locker.run("begin immediate");
      expectDatabaseError(await rejectionOf(backend.open()), "DATABASE_LOCKED");
      locker.run("rollback");
    } finally {
      locker.close();
    }
    await backend.open();
    const id = await queue.enqueue(task, 7);
    expect((await queue.getTask(id)).args).toEqual([7]);
  });
});

describe("SQLite settings and driver", () => {
  test("SQLiteBackend puts the file in WAL mode", async () => {
    const path = tempDbPath();
    const backend = closeLater(new SQLiteBackend(path));
    await backend.open();
    const mode = withRaw(
      path,
      (db) =>
        (db.query("pragma journal_mode").get() as { journal_mode: string })
          .journal_mode,
    );
    expect(mode).toBe("wal");
    expect(existsSync(`${path}-wal`)).toBe(true);
  });

  test("SQLiteBackend picks bun:sqlite on Bun once open", async () => {
    const backend = closeLater(new SQLiteBackend(tempDbPath()));
    expect(backend.driverName).toBeUndefined();
    await backend.open();
    expect(backend.driverName).toBe("bun:sqlite");
  });

  test('SQLiteBackend with synchronous: "normal" stores and reads tasks like the default', async () => {
    const path = tempDbPath();
    const queue = newQueue({ backend: { synchronous: "normal" } }, path);
    const task = queue.task("t", (n: number) => n + 1);
    const id = await queue.enqueue(task, 1);
    await queue.worker().processOne();
    expect(await queue.getResult(id)).toEqual(completed(2));
  });
});
