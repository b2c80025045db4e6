/**
 * Storage faults (issue 7), on every runtime: processes that open one new
 * file together, handles left by failed opens, the error of a write that
 * SQLite rolled back itself (full disk, I/O error), and the size of the
 * write-ahead log after a burst.
 *
 * Faults are real: a file size limit (`ulimit -f`, which makes SQLite report
 * an I/O error), a tmpfs that fills up (a full disk; needs root to mount,
 * and says so when it cannot), a trigger that rolls a transaction back, and
 * locks held by other connections.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { Kysely, sql } from "kysely";
import { DatabaseError, SQLiteBackend, TaskQueue } from "../mod.ts";
import { ImmediateSqliteDialect } from "../lib/drivers/immediate_sqlite_dialect.ts";
import { openSqlite } from "../lib/drivers/open_sqlite.ts";
import {
  cleanup,
  heldTask,
  newQueue,
  rejectionOf,
  ROOT,
  run,
  type RunResult,
  tempDbPath,
  tempDir,
  waitUntil,
  withRaw,
} from "./helpers.ts";
import { buildDist, RUNTIMES, type RuntimeTarget } from "./runtimes/matrix.ts";
import { track } from "./worker_helpers.ts";

const FIXTURES = join(ROOT, "tests/fixtures");

/** Hang guard for one fixture process. */
const PROCESS_TIMEOUT = 120_000;

/** Timeout of a test that runs a fixture on every runtime at once. */
const MATRIX_TEST_TIMEOUT = 180_000;

const mounts: string[] = [];

beforeAll(() => buildDist(), 60_000);
afterAll(async () => {
  // Unmount first: the temp dirs they sit in are removed next.
  for (const dir of mounts.splice(0)) {
    if (spawnSync("umount", [dir]).status !== 0) {
      spawnSync("umount", ["-l", dir]); // still busy: detach it now
    }
  }
  await cleanup();
});

/** Runs fixture `name` with `args` on `target`; expects exit 0 and one JSON line. */
async function runFixture(
  target: RuntimeTarget,
  name: string,
  args: string[],
  wrap: (command: string[]) => string[] = (command) => command,
): Promise<Record<string, unknown>> {
  const command = wrap(target.command(join(FIXTURES, name), ...args));
  const result = await run(command, {
    env: target.env,
    timeout: PROCESS_TIMEOUT,
  });
  return parseFixtureOutput(target.label, command, result);
}

function parseFixtureOutput(
  label: string,
  command: string[],
  result: RunResult,
): Record<string, unknown> {
  const detail = `${label}: ${
    command.join(" ")
  }\nstdout: ${result.stdout}\nstderr: ${result.stderr}`;
  expect(result.code, detail).toBe(0);
  const lines = result.stdout.trim().split("\n");
  expect(lines.length, detail).toBe(1);
  return JSON.parse(lines[0]!) as Record<string, unknown>;
}

/** Runs `each` on every runtime at once; returns the results by label. */
async function onEveryRuntime<T>(
  each: (target: RuntimeTarget) => Promise<T>,
): Promise<Record<string, T>> {
  const results = await Promise.all(RUNTIMES.map(each));
  return Object.fromEntries(
    RUNTIMES.map((target, index) => [target.label, results[index]!]),
  );
}

/** The same `value` for every runtime label, to compare with onEveryRuntime. */
function forEveryRuntime<T>(value: T): Record<string, T> {
  return Object.fromEntries(RUNTIMES.map((target) => [target.label, value]));
}

/**
 * Mounts a tmpfs of `size` on a new directory. When that is impossible (not
 * root, no CAP_SYS_ADMIN) it prints why and returns undefined; when it fails
 * although it should work, under CI=true it throws instead, so a broken
 * environment cannot silently turn the full-disk tests off.
 */
function mountTmpfs(size: string, what: string): string | undefined {
  const dir = tempDir();
  const result = spawnSync(
    "mount",
    ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir],
    { encoding: "utf8" },
  );
  if (result.error === undefined && result.status === 0) {
    mounts.push(dir);
    return dir;
  }
  const reason = result.error?.message ?? result.stderr.trim();
  const root = process.getuid?.() === 0;
  const impossible = !root ||
    /permission denied|not permitted|must be superuser|only root/i.test(
      reason,
    );
  const message =
    `NOT RUN: ${what}: cannot mount a ${size} tmpfs to fill (${reason})`;
  if (process.env.CI === "true" && !impossible) {
    throw new Error(`${message}; this runs as root, so it should work here`);
  }
  console.warn(
    `${message}${
      impossible
        ? "; mounting needs root with CAP_SYS_ADMIN, which this process lacks"
        : ""
    }`,
  );
  return undefined;
}

describe("Processes opening one new database file together (issue 7.1)", () => {
  test(
    "two processes of every runtime open, write and read one new file at the same moment, five rounds, and none fails",
    async () => {
      const dir = tempDir();
      const rounds = 5;
      const openers = RUNTIMES.flatMap((target) =>
        [0, 1].map((n) => {
          const id = `${target.label}-${n}`;
          const command = target.command(
            join(FIXTURES, "open_race.mjs"),
            dir,
            id,
            String(rounds),
            "250",
          );
          const opener = {
            id,
            command,
            label: target.label,
            exited: false,
            result: run(command, { env: target.env, timeout: PROCESS_TIMEOUT }),
          };
          void opener.result.finally(() => (opener.exited = true));
          return opener;
        })
      );
      // Every process loads sitq first; then all start round 0 together.
      await waitUntil(
        async () => {
          const dead = openers.find((opener) =>
            opener.exited && !existsSync(join(dir, `ready-${opener.id}`))
          );
          if (dead !== undefined) {
            const { stdout, stderr } = await dead.result;
            throw new Error(
              `${dead.id} exited before it was ready:\n${stdout}${stderr}`,
            );
          }
          return openers.every((opener) =>
            existsSync(join(dir, `ready-${opener.id}`))
          );
        },
        "every process to load sitq",
        { timeout: 90_000 },
      );
      writeFileSync(join(dir, "go"), String(Date.now() + 200));

      const failures: unknown[] = [];
      let opens = 0;
      for (const opener of openers) {
        const facts = parseFixtureOutput(
          opener.label,
          opener.command,
          await opener.result,
        ) as { opens: number; failures: unknown[] };
        opens += facts.opens;
        for (const failure of facts.failures) {
          failures.push({ process: opener.id, ...failure as object });
        }
      }
      expect(failures).toEqual([]);
      expect(opens).toBe(openers.length * rounds);
      // Every process's task is in every round's file.
      for (let round = 0; round < rounds; round++) {
        const count = withRaw(
          join(dir, `round-${round}.db`),
          (db) =>
            (db.query("select count(*) as n from sitq_tasks").get() as {
              n: number;
            }).n,
        );
        expect(count).toBe(openers.length);
      }
    },
    MATRIX_TEST_TIMEOUT,
  );

  test("DATABASE_LOCKED says how long the call waited and what busyTimeout is", async () => {
    const path = tempDbPath();
    const queue = newQueue({ backend: { busyTimeout: 100 } }, path);
    const job = queue.task("job", (n: number) => n);
    await queue.enqueue(job, 1);
    const locker = new Database(path);
    try {
      locker.run("begin immediate");
      const error = await rejectionOf(queue.enqueue(job, 2));
      expect(error).toBeInstanceOf(DatabaseError);
      expect((error as DatabaseError).code).toBe("DATABASE_LOCKED");
      const message = (error as Error).message;
      const waited = /the call failed after (\d+) ms; busyTimeout is 100 ms/
        .exec(message);
      expect(waited, message).not.toBeNull();
      // SQLite's busy handler sleeps until the timeout has passed.
      expect(Number(waited![1])).toBeGreaterThanOrEqual(99);
    } finally {
      locker.close();
    }
  });
});

describe("Handles of failed opens (issue 7.2)", () => {
  test(
    "failed opens (not a database, a newer schema, a lock) and closed backends leave no file descriptor open, on every runtime",
    async () => {
      const tries = 20;
      const lockers: Database[] = [];
      try {
        const results = await onEveryRuntime(async (target) => {
          const dir = join(tempDir(), target.label);
          mkdirSync(dir);
          writeFileSync(
            join(dir, "junk.db"),
            "this is not an SQLite database, just text ".repeat(50),
          );
          for (const name of ["newer.db", "locked.db"]) {
            const backend = new SQLiteBackend(join(dir, name));
            await backend.open();
            await backend.close();
          }
          withRaw(join(dir, "newer.db"), (db) =>
            db.run(
              "update sitq_meta set value = '999' where key = 'schema_version'",
            ));
          const locker = new Database(join(dir, "locked.db"));
          lockers.push(locker);
          locker.run("begin immediate");
          return await runFixture(target, "failed_open_fds.mjs", [
            dir,
            String(tries),
          ]);
        });
        for (const facts of Object.values(results)) {
          const fresh = facts.fresh as { whileOpen: number | string };
          // The count sees sitq's files (db, -wal, -shm) while one is open.
          if (fresh.whileOpen as number >= 3) fresh.whileOpen = "3 or more";
        }
        expect(results).toEqual(forEveryRuntime({
          junk: { codes: ["NOT_A_DATABASE"], open: 0 },
          newer: { codes: ["SCHEMA_TOO_NEW"], open: 0 },
          locked: { codes: ["DATABASE_LOCKED"], open: 0 },
          fresh: { whileOpen: "3 or more", open: 0 },
        }));
      } finally {
        for (const locker of lockers) locker.close();
      }
    },
    MATRIX_TEST_TIMEOUT,
  );
});

describe("Writes that SQLite rolls back itself (issue 7.3)", () => {
  const refuse = (path: string, when: string) =>
    withRaw(path, (db) =>
      db.run(
        `create trigger refuse before ${when} begin select raise(rollback, 'refused by the test trigger'); end`,
      ));
  const allow = (path: string) =>
    withRaw(path, (db) => db.run("drop trigger refuse"));

  test("an enqueue whose transaction SQLite rolled back reports SQLite's error, with it as the cause, not the failed rollback's", async () => {
    const path = tempDbPath();
    const queue = newQueue({}, path);
    const job = queue.task("job", (n: number) => n);
    const kept = await queue.enqueue(job, 1);
    refuse(path, "insert on sitq_tasks");

    const error = await rejectionOf(queue.enqueue(job, 2));
    expect(error).toBeInstanceOf(DatabaseError);
    const message = (error as Error).message;
    expect(message).toContain("refused by the test trigger");
    expect(message).not.toContain("no transaction is active");
    expect(String((error as Error).cause)).toContain(
      "refused by the test trigger",
    );

    allow(path);
    const next = await queue.enqueue(job, 3);
    expect((await queue.getTask(kept)).args).toEqual([1]);
    expect((await queue.getTask(next)).args).toEqual([3]);
    expect((await queue.stats()).queued).toBe(2);
  });

  test("a worker whose settle and claim transactions SQLite rolled back reports SQLite's error, keeps the outcome, and loses no task", async () => {
    const path = tempDbPath();
    const queue = newQueue({}, path);
    const held = heldTask(queue, "held", "held done");
    const job = queue.task("job", (n: number) => n * 2);
    const heldId = await queue.enqueue(held.task);
    const worker = track(queue.worker({ pollInterval: 20 }));
    const errors: Error[] = [];
    worker.on("error", ({ error }) => errors.push(error));
    await worker.start();
    await held.started;

    // Any status change (a settle, a claim) is now rolled back by SQLite.
    refuse(path, "update of status on sitq_tasks");
    held.release();
    await waitUntil(() => errors.length > 0, "the settle to fail");
    const jobId = await queue.enqueue(job, 4);
    await waitUntil(() => errors.length > 1, "a claim to fail");
    expect((await queue.getTask(heldId)).status).toBe("running");
    expect((await queue.getTask(jobId)).status).toBe("queued");
    for (const error of errors) {
      expect(error).toBeInstanceOf(DatabaseError);
      expect(error.message).toContain("refused by the test trigger");
      expect(error.message).not.toContain("no transaction is active");
    }

    allow(path);
    expect(await queue.waitForResult(heldId, { timeout: 20_000 })).toEqual({
      status: "completed",
      value: "held done",
      attempts: 1,
    });
    expect(await queue.waitForResult(jobId, { timeout: 20_000 })).toEqual({
      status: "completed",
      value: 8,
      attempts: 1,
    });
    const history = (await queue.getTask(heldId)).history;
    expect(history.map((attempt) => attempt.outcome)).toEqual(["completed"]);
  });

  test("a transaction left open by a failed rollback is ended by the next BEGIN, not kept for good", async () => {
    const path = tempDbPath();
    const shim = await openSqlite(path);
    const db = new Kysely<{ t: { x: number } }>({
      dialect: new ImmediateSqliteDialect({ database: shim }),
    });
    try {
      await sql`create table t (x integer)`.execute(db);
      // What a rollback that failed would leave: an open transaction.
      shim.exec("begin");
      shim.exec("insert into t values (1)");
      await db.transaction().execute((trx) =>
        trx.insertInto("t").values({ x: 2 }).execute()
      );
      const rows = await db.selectFrom("t").select("x").execute();
      expect(rows).toEqual([{ x: 2 }]);
    } finally {
      await db.destroy();
    }
  });

  test(
    "a database file this process may only read: reads work, and a write fails with READ_ONLY, on every runtime",
    async () => {
      // Root may write any file, so as root the fixture runs as "nobody".
      const asReader = (command: string[]) =>
        process.getuid?.() === 0
          ? [
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            ...command,
          ]
          : command;
      const results = await onEveryRuntime(async (target) => {
        const dir = tempDir();
        const path = join(dir, "tasks.db");
        const queue = new TaskQueue(new SQLiteBackend(path));
        await queue.enqueue(queue.task("t", (n: number) => n), 1);
        await queue.close();
        // The directory stays writable (SQLite may create -wal and -shm
        // there); the database file itself is read-only.
        chmodSync(dir, 0o777);
        chmodSync(path, 0o444);
        return await runFixture(target, "read_only.mjs", [path], asReader);
      });
      for (const facts of Object.values(results)) {
        const error = facts.enqueueError as { message: string };
        expect(error.message).toContain("write access");
        error.message = "(checked)";
      }
      expect(results).toEqual(forEveryRuntime({
        stats: {
          waiting: 0,
          queued: 1,
          running: 0,
          completed: 0,
          failed: 0,
          cancelled: 0,
        },
        args: [1],
        enqueueError: {
          name: "DatabaseError",
          code: "READ_ONLY",
          message: "(checked)",
          cause: "attempt to write a readonly database",
        },
      }));
    },
    MATRIX_TEST_TIMEOUT,
  );

  /** Checks what disk_fault.mjs reported on `label` for a fault that is `code`. */
  function expectDiskFault(
    label: string,
    facts: Record<string, unknown>,
    code: string,
  ): void {
    const committed = facts.committedBeforeFault as number;
    expect({ label, committed: committed > 0 }).toEqual({
      label,
      committed: true,
    });
    const fault = expect.objectContaining({ name: "DatabaseError", code });
    expect({ label, ...facts }).toMatchObject({
      label,
      enqueueError: fault,
      enqueueErrorIsDatabaseError: true,
      smallestError: fault,
      // The failed writes changed nothing; the committed tasks are there.
      statsWhileFull: {
        queued: committed,
        running: 1,
        completed: 0,
        failed: 0,
        cancelled: 0,
      },
      heldStatusWhileFull: "running",
      heldResult: {
        status: "completed",
        value: "held done".padEnd(8192, "."),
        attempts: 1,
      },
      heldHistory: ["completed"],
      moreResults: [1, 2, 3].map((value) => ({
        status: "completed",
        value,
        attempts: 1,
      })),
      final: {
        waiting: 0,
        queued: 0,
        running: 0,
        completed: committed + 4,
        failed: 0,
        cancelled: 0,
      },
    });
    const errors = [
      facts.enqueueError,
      facts.smallestError,
      ...facts.heldErrors as unknown[],
      ...facts.fillerErrors as unknown[],
    ] as { code: string; message: string; cause: string }[];
    expect({
      label,
      heldErrors: (facts.heldErrors as unknown[]).length > 0,
      fillerErrors: (facts.fillerErrors as unknown[]).length > 0,
    }).toEqual({ label, heldErrors: true, fillerErrors: true });
    for (const error of errors) {
      expect({ label, code: error.code }).toEqual({ label, code });
      expect(error.message).not.toContain("no transaction is active");
      expect(error.cause).not.toContain("no transaction is active");
    }
  }

  test(
    "under a file size limit, enqueue and the workers' writes fail with IO_ERROR, and the queue works on with nothing lost once it is lifted, on every runtime",
    async () => {
      // ulimit -S: only the soft limit, which prlimit may raise again.
      // SIGXFSZ is ignored so that a write past the limit fails (EFBIG)
      // instead of killing the process.
      const limited = (command: string[]) => [
        "bash",
        "-c",
        `trap '' XFSZ; ulimit -S -f 512; exec "$@"`,
        "bash",
        ...command,
      ];
      const results = await onEveryRuntime((target) =>
        runFixture(target, "disk_fault.mjs", [
          join(tempDir(), "tasks.db"),
          JSON.stringify(["prlimit", "--pid", "{pid}", "--fsize=unlimited"]),
        ], limited)
      );
      for (const [label, facts] of Object.entries(results)) {
        expectDiskFault(label, facts, "IO_ERROR");
      }
    },
    MATRIX_TEST_TIMEOUT,
  );

  test(
    "on a full disk, enqueue and the workers' writes fail with DISK_FULL, and the queue works on with nothing lost once there is space, on every runtime",
    async () => {
      const dirs = RUNTIMES.map(() =>
        mountTmpfs("1m", "full disk per runtime")
      );
      if (dirs.includes(undefined)) return;
      const results = await onEveryRuntime((target) => {
        const dir = dirs[RUNTIMES.indexOf(target)]!;
        return runFixture(target, "disk_fault.mjs", [
          join(dir, "tasks.db"),
          JSON.stringify(["mount", "-o", "remount,size=16m", dir]),
        ]);
      });
      for (const [label, facts] of Object.entries(results)) {
        expectDiskFault(label, facts, "DISK_FULL");
      }
    },
    MATRIX_TEST_TIMEOUT,
  );

  test(
    "on a full disk (in this process): DISK_FULL with a message that says what to do, committed tasks intact, and the queue works once there is space",
    async () => {
      const dir = mountTmpfs("1m", "full disk in-process");
      if (dir === undefined) return;
      // Closed here, not by cleanup(): the tmpfs is unmounted before that.
      const queue = new TaskQueue(new SQLiteBackend(join(dir, "tasks.db")));
      const job = queue.task("job", (text: string) => text.length);
      const worker = queue.worker({ tasks: [job], concurrency: 4 });
      try {
        const committed: number[] = [];
        let error: unknown;
        while (error === undefined) {
          try {
            committed.push(
              ...await queue.enqueueMany(
                job,
                Array.from({ length: 20 }, () => ["x".repeat(1000)]),
              ),
            );
          } catch (thrown) {
            error = thrown;
          }
        }
        expect(error).toBeInstanceOf(DatabaseError);
        expect((error as DatabaseError).code).toBe("DISK_FULL");
        expect((error as Error).message).toContain("free space");
        expect(String((error as Error).cause)).toContain(
          "database or disk is full",
        );
        expect((await queue.stats()).queued).toBe(committed.length);

        const grown = spawnSync("mount", ["-o", "remount,size=16m", dir]);
        expect(grown.status).toBe(0);
        await worker.start();
        const last = await queue.enqueue(job, "after");
        expect(await queue.waitForResult(last, { timeout: 20_000 })).toEqual({
          status: "completed",
          value: 5,
          attempts: 1,
        });
        await waitUntil(
          async () => (await queue.stats()).completed === committed.length + 1,
          "every task to complete",
        );
        expect((await queue.getTask(committed[0]!)).result).toEqual({
          status: "completed",
          value: 1000,
          attempts: 1,
        });
      } finally {
        await worker.stop();
        await queue.close();
      }
    },
    60_000,
  );
});

describe("The write-ahead log after a burst (issue 7.4)", () => {
  const walSize = (path: string) => statSync(`${path}-wal`).size;

  async function burst(
    queue: TaskQueue,
    path: string,
    tasks: number,
  ): Promise<{ peak: number; after: number }> {
    const job = queue.task("burst", (text: string) => text.length);
    await queue.enqueueMany(
      job,
      Array.from({ length: tasks }, () => ["x".repeat(500)]),
    );
    const peak = walSize(path);
    // The checkpoint opportunity: ordinary writes after the burst.
    await queue.enqueue(job, "after the burst");
    await queue.worker().processOne();
    return { peak, after: walSize(path) };
  }

  test("the -wal file is cut back to walSizeLimit after a burst", async () => {
    const path = tempDbPath();
    const limit = 64 * 1024;
    const queue = newQueue({ backend: { walSizeLimit: limit } }, path);
    const { peak, after } = await burst(queue, path, 10_000);
    expect(peak).toBeGreaterThan(limit);
    expect(after).toBeLessThanOrEqual(limit);
  }, 30_000);

  test(
    "by default the -wal file is cut back to 8 MiB after a bigger burst",
    async () => {
      const path = tempDbPath();
      const queue = newQueue({}, path);
      const { peak, after } = await burst(queue, path, 20_000);
      expect(peak).toBeGreaterThan(8 * 1024 * 1024);
      expect(after).toBeLessThanOrEqual(8 * 1024 * 1024);
    },
    30_000,
  );

  test("new SQLiteBackend() refuses a walSizeLimit that is not a byte count", () => {
    for (const bad of [-1, 1.5, Number.NaN]) {
      expect(() => new SQLiteBackend(":memory:", { walSizeLimit: bad }))
        .toThrow(RangeError);
    }
    expect(() =>
      new SQLiteBackend(":memory:", {
        walSizeLimit: "8MB" as unknown as number,
      })
    ).toThrow(TypeError);
  });

  test(
    "the -wal file is cut back to walSizeLimit after a burst, on every runtime",
    async () => {
      const limit = 64 * 1024;
      const results = await onEveryRuntime((target) =>
        runFixture(target, "wal_limit.mjs", [
          join(tempDir(), "tasks.db"),
          "10000",
          String(limit),
        ])
      );
      const sizes = Object.fromEntries(
        Object.entries(results).map(([label, { peak, after }]) => [label, {
          peak: (peak as number) > limit ? "past the limit" : peak,
          after: (after as number) <= limit ? "within the limit" : after,
        }]),
      );
      expect(sizes).toEqual(forEveryRuntime({
        peak: "past the limit",
        after: "within the limit",
      }));
    },
    MATRIX_TEST_TIMEOUT,
  );
});
