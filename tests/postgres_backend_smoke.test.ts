/**
 * The PostgreSQL backend end to end, through the public API: a queue and a
 * worker round-trip results; two backends claiming at once get disjoint
 * tasks; a second backend's idle worker is woken by NOTIFY, not by polling;
 * a borrowed pool is neither ended nor changed; and the first errors a user
 * meets carry their codes.
 *
 * @module
 */
import { afterAll, expect, test } from "bun:test";
import { Kysely, PostgresDialect } from "kysely";
import pg from "pg";
import { DatabaseError, TaskQueue } from "../mod.ts";
import { PostgresBackend } from "../postgres.ts";
import type { Backend, BackendChange, ClaimRequest } from "../backend.ts";
import { cleanup, closeLater } from "./helpers.ts";
import { freshSchema } from "./support/postgres_server.ts";
import { describePostgres } from "./support/postgres_tests.ts";

afterAll(cleanup);

function newRow(name: string, index: number) {
  const now = Date.now();
  return {
    name,
    args: JSON.stringify([index]),
    priority: 0,
    runAt: now - 1000,
    maxAttempts: 3,
    timeout: null,
    createdAt: now,
  };
}

/** Claims until nothing is left; returns the ids claimed, in order. */
async function drain(backend: Backend, workerId: string): Promise<number[]> {
  const ids: number[] = [];
  for (;;) {
    const request: ClaimRequest = {
      workerId,
      names: ["job"],
      limit: 7,
      now: Date.now(),
      leaseDuration: 60_000,
    };
    const { claimed } = await backend.settleAndClaim([], request);
    if (claimed.length === 0) return ids;
    expect(claimed.length).toBeLessThanOrEqual(request.limit);
    for (const task of claimed) ids.push(task.id);
  }
}

await describePostgres("PostgresBackend smoke", (url) => {
  test(
    "a queue and a worker round-trip results, as numbers and dates",
    async () => {
      const backend = new PostgresBackend(url, { schema: freshSchema() });
      const queue = closeLater(new TaskQueue(backend));
      expect(backend.description).toContain(`(schema ${backend.schema})`);
      const echo = queue.task(
        "echo",
        (value: { when: Date; big: number; text: string }) => ({
          ...value,
          seen: true,
        }),
      );
      const when = new Date("2024-02-29T12:00:00Z");
      const input = { when, big: Number.MAX_SAFE_INTEGER, text: "héllo ✓" };
      const ids = [];
      for (let index = 0; index < 5; index++) {
        ids.push(await queue.enqueue(echo, input));
      }
      expect(ids.every((id) => typeof id === "number")).toBe(true);
      const worker = queue.worker({ concurrency: 3 });
      closeLater({ close: () => worker.stop() });
      await worker.start();
      for (const id of ids) {
        const result = await queue.waitForResult(id, { timeout: 20_000 });
        expect(result).toEqual({
          status: "completed",
          value: { ...input, seen: true },
          attempts: 1,
        });
      }
      const row = await backend.getTask(ids[0]!);
      expect(typeof row?.run_at).toBe("number");
      expect(typeof row?.finished_at).toBe("number");
      expect((await backend.getAttempts(ids[0]!))[0]?.outcome).toBe(
        "completed",
      );
      expect((await queue.stats()).completed).toBe(5);
    },
    30_000,
  );

  test("two backends claiming at once get disjoint tasks", async () => {
    const schema = freshSchema();
    const first = closeLater(new PostgresBackend(url, { schema }));
    const second = closeLater(new PostgresBackend(url, { schema }));
    const inserted = await first.insertTasks(
      Array.from({ length: 300 }, (_, index) => newRow("job", index)),
    );
    const [a, b] = await Promise.all([
      drain(first, "a"),
      drain(second, "b"),
    ]);
    const all = [...a, ...b];
    expect(new Set(all).size).toBe(all.length);
    expect(all.toSorted((x, y) => x - y)).toEqual(inserted);
    // Neither claimer was starved by the other's locks: both took tasks.
    expect(a.length + b.length).toBe(300);
  }, 30_000);

  test("another backend's idle worker is woken by NOTIFY", async () => {
    const schema = freshSchema();
    // The worker's backend polls neither the server nor the table within
    // the wait below: only a notification can wake it in time.
    const workerSide = new PostgresBackend(url, {
      schema,
      changePollInterval: 600_000,
    });
    const workerQueue = closeLater(new TaskQueue(workerSide));
    workerQueue.task("ping", (n: number) => n + 1);
    const worker = workerQueue.worker({ pollInterval: 600_000 });
    closeLater({ close: () => worker.stop() });
    await worker.start();
    // Let the worker's first claim (which finds nothing) go by, and its
    // backend's LISTEN connection start.
    await workerQueue.stats();
    await waitFor(async () => (await pgListeners(url, `sitq_${schema}`)) === 1);

    const producer = new PostgresBackend(url, { schema });
    const queue = closeLater(new TaskQueue(producer));
    const ping = queue.task("ping", (n: number) => n + 1);
    const id = await queue.enqueue(ping, 41);
    const result = await queue.waitForResult(id, { timeout: 60_000 });
    expect(result).toEqual({ status: "completed", value: 42, attempts: 1 });
  }, 30_000);

  test(
    "a borrowed pool is used, not ended, and keeps its own type parsing",
    async () => {
      const pool = new pg.Pool({ connectionString: url, max: 3 });
      try {
        const backend = new PostgresBackend(pool, { schema: freshSchema() });
        const queue = new TaskQueue(backend);
        const double = queue.task("double", (n: number) => n * 2);
        const id = await queue.enqueue(double.with({ priority: 2 ** 40 }), 21);
        const worker = queue.worker();
        await worker.start();
        expect(await queue.waitForResult(id, { timeout: 20_000 })).toEqual({
          status: "completed",
          value: 42,
          attempts: 1,
        });
        const row = await backend.getTask(id);
        expect(row?.priority).toBe(2 ** 40);
        expect(typeof row?.created_at).toBe("number");
        await worker.stop();
        await queue.close();
        // The pool still works, and int8 still comes back as text from it.
        const { rows } = await pool.query("select 9007199254740991::int8 as n");
        expect(rows[0].n).toBe("9007199254740991");
      } finally {
        await pool.end();
      }
    },
    30_000,
  );

  test(
    "a pool that cannot LISTEN: one PUSH_UNAVAILABLE notice, and polling finds other backends' writes",
    async () => {
      const pool = new pg.Pool({ connectionString: url, max: 2 });
      try {
        const schema = freshSchema();
        // Not a pg.Pool: no `options` and `Client` to open a LISTEN connection with.
        const bare = { connect: () => pool.connect() };
        const backend = new PostgresBackend(bare, { schema });
        const changes: BackendChange[] = [];
        const stop = backend.subscribe((change) => changes.push(change));
        await backend.open();
        const other = closeLater(new PostgresBackend(url, { schema }));
        await waitFor(() => changes.some((change) => change.type === "notice"));
        const notices = changes.filter((change) => change.type === "notice");
        expect(notices).toHaveLength(1);
        expect(notices[0]).toMatchObject({
          code: "PUSH_UNAVAILABLE",
          message: expect.stringContaining("LISTEN connection"),
        });
        changes.length = 0;
        await other.insertTasks([newRow("job", 1)]);
        await waitFor(() =>
          changes.some((change) => change.type === "external")
        );
        stop();
        await backend.close();
      } finally {
        await pool.end();
      }
    },
    30_000,
  );

  test(
    "a LISTEN connection the server ends is made again, and then says something changed",
    async () => {
      const schema = freshSchema();
      const backend = closeLater(
        new PostgresBackend(url, { schema, changePollInterval: 600_000 }),
      );
      const changes: BackendChange[] = [];
      backend.subscribe((change) => changes.push(change));
      const channel = `sitq_${schema}`;
      await waitFor(async () => (await pgListeners(url, channel)) === 1);
      await waitFor(() => changes.some((change) => change.type === "external"));
      changes.length = 0;
      await withClient(url, (client) =>
        client.query(
          `select pg_terminate_backend(pid) from pg_stat_activity where query = $1`,
          [`listen "${channel}"`],
        ));
      // The reconnect is reported, and LISTEN is back: another backend's
      // insert is heard although the feed polls every ten minutes.
      await waitFor(() => changes.some((change) => change.type === "external"));
      await waitFor(async () => (await pgListeners(url, channel)) === 1);
      changes.length = 0;
      const other = closeLater(new PostgresBackend(url, { schema }));
      await other.insertTasks([newRow("job", 2)]);
      await waitFor(() => changes.some((change) => change.type === "external"));
    },
    30_000,
  );

  test(
    "an enqueue in the application's own transaction wakes this backend's idle worker when it commits, and never when it rolls back",
    async () => {
      const pool = new pg.Pool({ connectionString: url, max: 3 });
      const db = new Kysely<Record<string, never>>({
        dialect: new PostgresDialect({ pool }),
      });
      try {
        // Polls an hour apart: only the notification sent at the
        // application's commit can wake the worker in time.
        const backend = new PostgresBackend(url, {
          schema: freshSchema(),
          changePollInterval: 3_600_000,
        });
        const queue = closeLater(new TaskQueue(backend));
        const triple = queue.task("triple", (n: number) => n * 3);
        const worker = queue.worker({ pollInterval: 3_600_000 });
        closeLater({ close: () => worker.stop() });
        await worker.start();
        await waitFor(async () =>
          (await pgListeners(url, `sitq_${backend.schema}`)) === 1
        );
        const rolledBack = await db.transaction().execute(async (trx) =>
          await queue.inTransaction(trx).enqueue(triple, 1)
        ).catch(() => undefined);
        await db.transaction().execute(async (trx) => {
          await queue.inTransaction(trx).enqueue(triple, 5);
          throw new Error("roll back");
        }).catch(() => {});
        expect(rolledBack).toBeDefined();
        expect(await queue.waitForResult(rolledBack!, { timeout: 20_000 }))
          .toEqual({ status: "completed", value: 3, attempts: 1 });
        expect((await queue.stats()).completed).toBe(1);
        expect(await backend.countByStatus()).toEqual({ completed: 1 });
      } finally {
        await db.destroy();
      }
    },
    30_000,
  );

  test("errors carry their codes and never the password", async () => {
    const refused = new PostgresBackend(
      "postgres://someone:hunter2@127.0.0.1:1/nowhere",
      { connectionTimeout: 5000 },
    );
    expect(refused.description).not.toContain("hunter2");
    const error = await refused.open().catch((caught) => caught);
    expect(error).toBeInstanceOf(DatabaseError);
    expect(error.code).toBe("CONNECTION_FAILED");
    expect(error.message).toContain("127.0.0.1:1");
    expect(error.message).not.toContain("hunter2");
    await refused.close();

    const missing = new URL(url);
    missing.pathname = "/no_such_database_here";
    const noDatabase = new PostgresBackend(missing.href);
    const notFound = await noDatabase.open().catch((caught) => caught);
    expect(notFound.code).toBe("DATABASE_NOT_FOUND");
    expect(notFound.message).toContain("createdb no_such_database_here");
    await noDatabase.close();

    const schema = freshSchema();
    const current = new PostgresBackend(url, { schema });
    await current.open();
    await current.close();
    await current.close(); // idempotent
    expect((await current.getTask(1).catch((caught) => caught)).code).toBe(
      "CLOSED",
    );
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(
      `update "${schema}".sitq_meta set value = '99' where key = 'schema_version'`,
    );
    await client.end();
    const newer = new PostgresBackend(url, { schema });
    const tooNew = await newer.open().catch((caught) => caught);
    expect(tooNew.code).toBe("SCHEMA_TOO_NEW");
    expect(tooNew.message).toContain(`"${schema}"`);
    await newer.close();

    expect(() => new PostgresBackend(url, { schema: "1bad" })).toThrow(
      TypeError,
    );
    expect(() => new PostgresBackend("")).toThrow(TypeError);
    expect(
      () =>
        new PostgresBackend(new pg.Pool({ connectionString: url }), {
          maxConnections: 3,
        }),
    ).toThrow(/configure your pg.Pool/);
  }, 30_000);
});

/** Runs `fn` on a new client of `url`, then ends it. */
async function withClient<T>(
  url: string,
  fn: (client: pg.Client) => Promise<T>,
): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** How many sessions LISTEN on `channel`. */
function pgListeners(url: string, channel: string): Promise<number> {
  // Another session's LISTENs are not visible from here; the backends'
  // LISTEN connections show as idle sessions whose last query was LISTEN.
  return withClient(url, async (client) => {
    const { rows } = await client.query(
      `select count(*)::int as n from pg_stat_activity
      where query = $1 and state = 'idle'`,
      [`listen "${channel}"`],
    );
    return rows[0].n as number;
  });
}

/** Waits until `condition` holds (the test's timeout ends a wait in vain). */
async function waitFor(
  condition: () => boolean | Promise<boolean>,
): Promise<void> {
  while (!(await condition())) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
