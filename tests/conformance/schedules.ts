/**
 * Recurring schedules (schema v10): set by name and idempotent, the typed
 * errors of bad options, the compare-and-set that lets one firing of a
 * slot win (on one object and on two connections), the catch-up policies
 * after a down time, pause, resume and remove, and the upgrade of a
 * version 9 store. Times are injected clocks (the queue's and the
 * worker's), so slots are exact and no test waits for a wall-clock slot.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Backend, ScheduleRow } from "../../lib/storage/backend.ts";
import type { Suite, TestContext } from "./harness.ts";
import { waitFor } from "./harness.ts";
import { ident, withRawPostgres } from "./raw_postgres.ts";
import { withRawSqlite } from "./raw_sqlite.ts";

const HOUR = 3_600_000;
/** 2030-01-01 00:00:30 UTC: 30 s after an hourly slot. */
const T0 = Date.UTC(2030, 0, 1, 0, 0, 30);

/** A clock whose time the test sets. */
function clockAt(at: number): { now(): number; at: number } {
  const clock = {
    at,
    now: () => clock.at,
  };
  return clock;
}

/** A queue on `backend` at `clock`, with the task "tick". */
function queueOn(t: TestContext, backend: Backend, clock = clockAt(T0)) {
  const queue = new t.sitq.TaskQueue(backend, { clock });
  const tick = queue.task("tick", (_n: number) => null);
  return { queue, tick, clock };
}

/** The unique keys of the tasks named "tick", sorted by slot. */
async function slotKeys(backend: Backend): Promise<string[]> {
  const rows = await backend.listTasks({ name: "tick", limit: 10_000 });
  return rows.map((row) => row.unique_key ?? "")
    .sort((a, b) => slotOf(a) - slotOf(b) || (a < b ? -1 : a > b ? 1 : 0));
}

function slotOf(key: string): number {
  return Number(key.slice(key.lastIndexOf(":") + 1));
}

function key(name: string, slot: number): string {
  return `schedule:${name}:${slot}`;
}

/** Registers the schedule tests. */
export function scheduleTests({ test, factory }: Suite): void {
  test("set creates a schedule once: the same options again change nothing, new ones update it and compute the next slot again", async (t) => {
    const backend = t.backend();
    const { queue, tick, clock } = queueOn(t, backend);
    const first = await queue.schedules.set("hourly", {
      task: tick,
      args: [1],
      every: HOUR,
    });
    assert.equal(first.nextRunAt?.getTime(), T0 - 30_000 + HOUR);
    assert.deepEqual(
      [first.name, first.taskName, first.queue, first.every, first.cron],
      ["hourly", "tick", "default", HOUR, null],
    );
    assert.deepEqual(
      [first.timezone, first.catchUp, first.paused, first.lastSlotAt],
      ["UTC", "skip", false, null],
    );
    clock.at = T0 + 5 * 60_000;
    const again = await queue.schedules.set("hourly", {
      task: tick,
      args: [1],
      every: HOUR,
    });
    assert.deepEqual(again, first, "the same options change nothing");
    const [row] = await backend.listSchedules();
    assert.equal(row!.revision, 1);
    const changed = await queue.schedules.set("hourly", {
      task: tick,
      args: [2],
      cron: "15 * * * *",
      timezone: "Europe/Berlin",
      catchUp: { max: 3 },
      priority: 7,
    });
    assert.equal(changed.cron, "15 * * * *");
    assert.equal(changed.every, null);
    assert.deepEqual(changed.catchUp, { max: 3 });
    assert.equal(changed.nextRunAt?.getTime(), Date.UTC(2030, 0, 1, 0, 15));
    assert.equal(changed.updatedAt.getTime(), clock.at);
    assert.equal(changed.createdAt.getTime(), T0);
    const stored = (await backend.getSchedule("hourly"))!;
    assert.deepEqual(
      [stored.revision, stored.args, stored.priority],
      [2, '{"json":[2]}', 7],
    );
    assert.equal((await queue.schedules.list()).length, 1);
  });

  test("bad options are typed errors: the cron field at fault, both or neither of cron and every, an unknown time zone, a bad catchUp", async (t) => {
    const { queue, tick } = queueOn(t, t.backend());
    const { InvalidCronError } = t.sitq;
    await assert.rejects(
      queue.schedules.set("s", { task: tick, args: [1], cron: "0 25 * * *" }),
      (error: unknown) => {
        assert.ok(error instanceof InvalidCronError);
        assert.ok(error instanceof RangeError);
        assert.equal(error.field, "hour");
        assert.equal(error.expression, "0 25 * * *");
        assert.match(error.message, /"0 25 \* \* \*".*hour field "25"/);
        return true;
      },
    );
    await assert.rejects(
      queue.schedules.set("s", { task: tick, args: [1], cron: "* * * *" }),
      (error: unknown) =>
        error instanceof InvalidCronError && /4 fields/.test(error.message),
    );
    await assert.rejects(
      queue.schedules.set("s", {
        task: tick,
        args: [1],
        cron: "*/5 * * * * 8",
      }),
      (error: unknown) =>
        error instanceof InvalidCronError && error.field === "day of week",
    );
    await assert.rejects(
      queue.schedules.set("s", {
        task: tick,
        args: [1],
        cron: "* * * * *",
        every: 1000,
      }),
      { name: "TypeError", message: /exactly one of 'cron' and 'every'/ },
    );
    await assert.rejects(
      queue.schedules.set("s", { task: tick, args: [1] }),
      { name: "TypeError", message: /neither/ },
    );
    await assert.rejects(
      queue.schedules.set("s", {
        task: tick,
        args: [1],
        cron: "0 * * * *",
        timezone: "Mars/Olympus_Mons",
      }),
      { name: "RangeError", message: /"Mars\/Olympus_Mons"/ },
    );
    await assert.rejects(
      queue.schedules.set("s", {
        task: tick,
        args: [1],
        every: 1000,
        catchUp: "all" as "once",
      }),
      { name: "RangeError", message: /'catchUp'/ },
    );
    await assert.rejects(
      queue.schedules.set("s", {
        task: tick,
        args: [1],
        every: 1000,
        catchUp: { max: 0 },
      }),
      { name: "RangeError", message: /'catchUp.max'/ },
    );
    assert.deepEqual(await queue.schedules.list(), [], "nothing was stored");
  });

  test("two firings computed from the same read: one advances the slot and inserts its task, the other changes nothing", async (t) => {
    const backend = t.backend();
    const other = factory.connections ? t.connect() : backend;
    const { queue, tick } = queueOn(t, backend);
    await queue.schedules.set("race", { task: tick, args: [1], every: HOUR });
    const row = (await backend.getSchedule("race"))!;
    const slot = row.next_run_at!;
    const firing = (at: string) => ({
      name: "race",
      revision: row.revision,
      expectedNextRunAt: slot,
      nextRunAt: slot + HOUR,
      lastSlot: slot,
      tasks: [{
        name: "tick",
        args: row.args,
        priority: 0,
        runAt: slot,
        maxAttempts: 3,
        timeout: null,
        createdAt: slot,
        uniqueKey: key("race", slot),
        onDuplicate: "keep" as const,
        queue: at,
      }],
    });
    const results = await Promise.all([
      backend.fireSchedule(firing("default")),
      other.fireSchedule(firing("default")),
    ]);
    assert.equal(results.filter((r) => r !== undefined).length, 1);
    assert.deepEqual(await slotKeys(backend), [key("race", slot)]);
    const after = (await backend.getSchedule("race"))!;
    assert.deepEqual([after.next_run_at, after.last_slot], [
      slot + HOUR,
      slot,
    ]);
    // A firing from an old revision loses too, even for a slot it names.
    await queue.schedules.set("race", { task: tick, args: [2], every: HOUR });
    assert.equal(
      await backend.fireSchedule({
        ...firing("default"),
        expectedNextRunAt: after.next_run_at!,
      }),
      undefined,
    );
  });

  for (
    const [policy, expected] of [
      ["skip", []],
      ["once", [5]],
      [{ max: 3 }, [3, 4, 5]],
      [{ max: 10 }, [1, 2, 3, 4, 5]],
    ] as const
  ) {
    test(
      `catch-up ${
        JSON.stringify(policy)
      } after five hourly slots missed: a worker fires ${
        expected.length === 0 ? "none" : `slots ${expected.join(", ")}`
      } and moves on to the next future slot`,
      async (t) => {
        const backend = t.backend();
        const { queue, tick } = queueOn(t, backend);
        await queue.schedules.set("catch-up", {
          task: tick,
          args: [1],
          every: HOUR,
          catchUp: policy,
        });
        // Five hours later (30 s past the fifth slot: missed, not on time).
        const later = clockAt(T0 + 5 * HOUR);
        const base = T0 - 30_000;
        const worker = queue.worker({ clock: later, pollInterval: 50 });
        await worker.start();
        t.defer(() => worker.stop());
        await waitFor(
          async () =>
            (await queue.schedules.get("catch-up"))?.lastSlotAt?.getTime() ===
              base + 5 * HOUR,
          "the missed slots dealt with",
        );
        await worker.stop();
        assert.deepEqual(
          await slotKeys(backend),
          expected.map((n) => key("catch-up", base + n * HOUR)),
        );
        const info = (await queue.schedules.get("catch-up"))!;
        assert.equal(info.nextRunAt?.getTime(), base + 6 * HOUR);
      },
    );
  }

  test("a paused schedule fires nothing while an active one fires; resumed, it fires from its next slot; removed, it is gone", async (t) => {
    const backend = t.backend();
    const { queue, tick, clock } = queueOn(t, backend);
    const options = {
      task: tick,
      args: [1] as [number],
      every: HOUR,
      catchUp: "once" as const,
    };
    await queue.schedules.set("paused", { ...options, paused: true });
    await queue.schedules.set("active", options);
    const paused = (await queue.schedules.get("paused"))!;
    assert.deepEqual([paused.paused, paused.nextRunAt], [true, null]);
    const later = clockAt(T0 + 5 * HOUR);
    const base = T0 - 30_000;
    const worker = queue.worker({ clock: later, pollInterval: 50 });
    await worker.start();
    t.defer(() => worker.stop());
    await waitFor(
      async () => (await queue.schedules.get("active"))?.lastSlotAt !== null,
      "the active schedule fired",
    );
    // Both were due in the same read: the paused one was passed over.
    assert.deepEqual(await slotKeys(backend), [key("active", base + 5 * HOUR)]);
    assert.equal((await queue.schedules.get("paused"))?.lastSlotAt, null);
    // A set without `paused` keeps it paused.
    await queue.schedules.set("paused", options);
    assert.equal((await queue.schedules.get("paused"))?.paused, true);
    // Resumed at the queue's clock (T0), so its slots to the worker's
    // clock are missed: "once" fires the newest.
    await queue.schedules.resume("paused");
    const resumed = (await queue.schedules.get("paused"))!;
    assert.deepEqual(
      [resumed.paused, resumed.nextRunAt?.getTime()],
      [false, base + HOUR],
    );
    await waitFor(
      async () => (await queue.schedules.get("paused"))?.lastSlotAt !== null,
      "the resumed schedule fired",
    );
    await worker.stop();
    assert.deepEqual(await slotKeys(backend), [
      key("active", base + 5 * HOUR),
      key("paused", base + 5 * HOUR),
    ]);
    clock.at = T0 + HOUR;
    await queue.schedules.pause("active");
    await queue.schedules.pause("active");
    assert.equal((await queue.schedules.get("active"))?.paused, true);
    assert.equal(await queue.schedules.remove("active"), true);
    assert.equal(await queue.schedules.remove("active"), false);
    assert.equal(await queue.schedules.get("active"), undefined);
    assert.deepEqual(
      (await queue.schedules.list()).map((s) => s.name),
      ["paused"],
    );
    await assert.rejects(queue.schedules.pause("active"), {
      name: "RangeError",
      message: /no schedule has that name/,
    });
    await assert.rejects(queue.schedules.resume("active"), RangeError);
    // The tasks it enqueued stay.
    assert.equal((await slotKeys(backend)).length, 2);
  });

  test("the task of a slot carries the schedule's arguments, queue, priority and attempts, and runs at its slot", async (t) => {
    const backend = t.backend();
    const { queue, tick } = queueOn(t, backend);
    await queue.schedules.set("carried", {
      task: tick.with({ timeout: 5000 }),
      args: [42],
      every: HOUR,
      catchUp: "once",
      queue: "reports",
      priority: 5,
      maxAttempts: 2,
    });
    const info = (await queue.schedules.get("carried"))!;
    assert.equal(info.queue, "reports");
    // A worker of another queue object that handles only another task:
    // it fires the schedule but leaves its task as fired.
    const elsewhere = new t.sitq.TaskQueue(backend, {
      clock: clockAt(T0 + 5 * HOUR),
    });
    elsewhere.task("other", () => null);
    const worker = elsewhere.worker({ pollInterval: 50 });
    await worker.start();
    t.defer(() => worker.stop());
    await waitFor(
      async () => (await queue.schedules.get("carried"))?.lastSlotAt !== null,
      "the schedule fired",
    );
    await worker.stop();
    const slot = T0 - 30_000 + 5 * HOUR;
    const [row] = await backend.listTasks({ name: "tick", limit: 10 });
    assert.deepEqual(
      [row?.args, row?.queue, row?.priority, row?.max_attempts],
      ['{"json":[42]}', "reports", 5, 2],
    );
    assert.deepEqual(
      [row?.timeout_ms, row?.run_at, row?.unique_key, row?.status],
      [5000, slot, key("carried", slot), "queued"],
    );
  });

  if (factory.connections) {
    test("a schedule set through another connection is picked up by a running worker", async (t) => {
      const backend = t.backend();
      const { queue } = queueOn(t, backend);
      const worker = queue.worker({
        clock: clockAt(T0 + 5 * HOUR),
        pollInterval: 50,
      });
      await worker.start();
      t.defer(() => worker.stop());
      // Nothing stored yet: the worker holds no timer for schedules.
      const elsewhere = queueOn(t, t.connect());
      await elsewhere.queue.schedules.set("remote", {
        task: elsewhere.tick,
        args: [1],
        every: HOUR,
        catchUp: "once",
      });
      await waitFor(
        async () => (await queue.schedules.get("remote"))?.lastSlotAt !== null,
        "the worker fired the schedule set elsewhere",
      );
      await worker.stop();
      assert.deepEqual(await slotKeys(backend), [
        key("remote", T0 - 30_000 + 5 * HOUR),
      ]);
    });
  }

  test("with no schedule stored, a worker reads the schedules at its start, not per claim", async (t) => {
    const inner = t.backend();
    let reads = 0;
    // The backend as it is, counting one method's calls.
    const backend = new Proxy(inner, {
      get(target, property) {
        const value = Reflect.get(target, property, target);
        if (typeof value !== "function") return value;
        if (property !== "listSchedules") return value.bind(target);
        return () => {
          reads++;
          return target.listSchedules();
        };
      },
    });
    const { queue, tick } = queueOn(t, backend);
    const worker = queue.worker({ concurrency: 4 });
    await worker.start();
    t.defer(() => worker.stop());
    const ids = await queue.enqueueMany(
      tick,
      Array.from({ length: 50 }, (_, n) => [n] as [number]),
    );
    for (const id of ids) await queue.waitForResult(id, { timeout: 10_000 });
    await worker.stop();
    // At the start, and at most once more for a change the backend could
    // not rule out (PostgreSQL: commits before LISTEN began).
    assert.ok(reads >= 1 && reads <= 2, `${reads} reads for 50 tasks`);
  });

  test("a stored schedule this runtime cannot compute is reported once and skipped; the others fire", async (t) => {
    const backend = t.backend();
    const { queue, tick } = queueOn(t, backend);
    const good = await queue.schedules.set("good", {
      task: tick,
      args: [1],
      every: HOUR,
      catchUp: "once",
    });
    // As if set by a runtime that knows a time zone this one does not.
    const stored = (await backend.getSchedule("good"))!;
    await backend.saveSchedule({
      ...stored,
      name: "elsewhere",
      cron: "0 * * * *",
      every_ms: null,
      timezone: "Mars/Olympus_Mons",
      definition: "elsewhere",
      paused: undefined,
      now: T0,
    });
    const errors: string[] = [];
    const worker = queue.worker({
      clock: clockAt(T0 + 5 * HOUR),
      pollInterval: 20,
      logger: {
        error: (_data: unknown, message: string) => errors.push(message),
      },
    });
    await worker.start();
    t.defer(() => worker.stop());
    await waitFor(
      async () => (await queue.schedules.get("good"))?.lastSlotAt !== null,
      "the good schedule fired",
    );
    // Were it read and tried again every round (20 ms), a few rounds would
    // report it again: give them the time (this is no assertion on time).
    await new Promise((resolve) => setTimeout(resolve, 200));
    await worker.stop();
    assert.equal(errors.length, 1, errors.join("\n"));
    assert.match(errors[0]!, /cannot compute the slots/);
    assert.equal((await queue.schedules.get("elsewhere"))?.lastSlotAt, null);
    assert.equal(good.name, "good");
  });

  test("a worker with schedules: false fires nothing", async (t) => {
    const backend = t.backend();
    const { queue, tick } = queueOn(t, backend);
    await queue.schedules.set("off", {
      task: tick,
      args: [1],
      every: HOUR,
      catchUp: "once",
    });
    const later = clockAt(T0 + 5 * HOUR);
    const off = queue.worker({ clock: later, schedules: false });
    await off.start();
    const id = await queue.enqueue(tick, 0);
    // The worker ran a task after reading its state: idle, and the
    // schedule still untouched.
    await queue.waitForResult(id, { timeout: 10_000 });
    await off.stop();
    assert.equal((await queue.schedules.get("off"))?.lastSlotAt, null);
    assert.deepEqual(await slotKeys(backend), [""]);
  });

  if (factory.family === "sqlite" && factory.connections) {
    test("a version 9 SQLite database is upgraded to schedules and keeps its tasks", async (t) => {
      const path = t.store().path!;
      await downgradedToV9(t, async () => {
        await withRawSqlite(path, (db) => {
          db.exec(
            "drop table sitq_schedules; update sitq_meta set value = '9' where key = 'schema_version'",
          );
        });
      });
      await upgradedKeepsTasks(t);
      const version = await withRawSqlite(path, (db) => {
        const [row] = db.prepare(
          "select value from sitq_meta where key = 'schema_version'",
        ).all() as Array<{ value: string }>;
        return Number(row?.value);
      });
      assert.equal(version, 11);
    });
  }

  if (factory.family === "postgres" && factory.connections) {
    test("a version 9 PostgreSQL schema is upgraded to schedules and keeps its tasks", async (t) => {
      const spec = t.store().spec as { url: string; schema: string };
      await downgradedToV9(t, async () => {
        await withRawPostgres(spec.url, async (client) => {
          await client.query(
            `drop table ${ident(spec.schema)}.sitq_schedules`,
          );
          await client.query(
            `update ${
              ident(spec.schema)
            }.sitq_meta set value = '9' where key = 'schema_version'`,
          );
        });
      });
      await upgradedKeepsTasks(t);
    });
  }
}

/**
 * Writes two tasks through a first backend object, closes it, and runs
 * `downgrade` (which makes the store a version 9 one: the schedules table
 * dropped, the version set back).
 */
async function downgradedToV9(
  t: TestContext,
  downgrade: () => Promise<void>,
): Promise<void> {
  const first = t.connect();
  const queue = new t.sitq.TaskQueue(first);
  const tick = queue.task("tick", (_n: number) => null);
  await queue.enqueue(tick, 1);
  await queue.enqueue(tick.with({ uniqueKey: "k" }), 2);
  await first.close();
  await downgrade();
}

/** Opens the store anew: its tasks are there, and schedules work. */
async function upgradedKeepsTasks(t: TestContext): Promise<void> {
  const backend = t.backend();
  const { queue, tick } = queueOn(t, backend);
  const tasks = await backend.listTasks({ limit: 10 });
  assert.deepEqual(
    tasks.map((row: { args: string; unique_key: string | null }) => [
      row.args,
      row.unique_key,
    ]),
    [['{"json":[2]}', "k"], ['{"json":[1]}', null]],
  );
  assert.deepEqual(await backend.listSchedules(), [] as ScheduleRow[]);
  const info = await queue.schedules.set("after-upgrade", {
    task: tick,
    args: [3],
    every: HOUR,
  });
  assert.equal(info.name, "after-upgrade");
}
