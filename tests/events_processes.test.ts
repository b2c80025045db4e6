/**
 * Task events and cancels beyond the conformance suite (which runs the
 * cross-process cases on every backend and runtime: tests/conformance/
 * events.ts, cancel_running.ts): an enqueue in the application's own
 * transaction is an event when it commits and none when it rolls back; a
 * subscriber registered in a process while a worker process runs gets the
 * events from then on; `signal` closes a subscription; a listener that
 * throws does not stop delivery; `getResult` of a running task includes its
 * progress; `cancelTasks` by name cancels tasks running in a worker
 * process.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import {
  declareTask,
  SQLiteBackend,
  type TaskEvent,
  TaskQueue,
} from "../mod.ts";
import { cleanup, tempDbPath, waitUntil } from "./helpers.ts";
import {
  type Claimer,
  describeClaimer,
  ready,
  spawnClaimer,
} from "./conformance/claim_processes.ts";

afterAll(cleanup);

const FIXTURE = fileURLToPath(
  new URL("./fixtures/task_events_process.mjs", import.meta.url),
);
const SITQ = pathToFileURL(`${import.meta.dir}/../mod.ts`).href;

const children: Claimer[] = [];
afterAll(() => {
  for (const child of children) child.proc.kill("SIGKILL");
});

async function spawnRole(
  path: string,
  config: Record<string, unknown>,
): Promise<Claimer> {
  const child = spawnClaimer(
    { store: { backend: "sqlite", path }, ...config },
    SITQ,
    FIXTURE,
  );
  children.push(child);
  if (config.role !== "producer") {
    await ready(child).catch((error) => {
      throw new Error(`${error}\n${describeClaimer(child)}`);
    });
  }
  return child;
}

describe("task events in one process", () => {
  test("an enqueue in the application's transaction is an event once it commits, and none if it rolls back", async () => {
    const backend = new SQLiteBackend(tempDbPath());
    const queue = new TaskQueue(backend);
    const task = queue.task("t", () => 1);
    const events: TaskEvent[] = [];
    const subscription = await queue.subscribe((event) => events.push(event));
    await expect(
      backend.transaction(async (trx) => {
        await queue.inTransaction(trx).enqueue(task.with({ delay: 60_000 }));
        throw new Error("rolled back");
      }),
    ).rejects.toThrow("rolled back");
    const id = await backend.transaction(async (trx) =>
      await queue.inTransaction(trx).enqueue(task.with({ delay: 60_000 }))
    );
    await waitUntil(() => events.length > 0, "the committed enqueue's event");
    expect(events.map((event) => [event.taskId, event.type])).toEqual([
      [id, "enqueued"],
    ]);
    await subscription.close();
    await queue.close();
  });

  test("a listener that throws does not stop delivery, and an aborted signal closes the subscription", async () => {
    const queue = new TaskQueue(new SQLiteBackend(tempDbPath()));
    const task = queue.task("t", () => 1);
    const seen: number[] = [];
    const controller = new AbortController();
    await queue.subscribe((event) => {
      seen.push(event.taskId);
      throw new Error("listener bug");
    }, { signal: controller.signal });
    const first = await queue.enqueue(task.with({ delay: 60_000 }));
    const second = await queue.enqueue(task.with({ delay: 60_000 }));
    await waitUntil(() => seen.length === 2, "both events despite the throw");
    expect(seen).toEqual([first, second]);
    controller.abort();
    // Closed: a later enqueue is not delivered (nor stored).
    const other: number[] = [];
    const watcher = await queue.subscribe((event) => other.push(event.taskId));
    const third = await queue.enqueue(task.with({ delay: 60_000 }));
    await waitUntil(() => other.length === 1, "the watcher's event");
    expect(other).toEqual([third]);
    expect(seen).toEqual([first, second]);
    await watcher.close();
    await queue.close();
  });

  test("getResult of a running task includes the progress it reported", async () => {
    const queue = new TaskQueue(new SQLiteBackend(tempDbPath()));
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => release = resolve);
    const task = queue.task("t", async function () {
      await this.reportProgress({ done: 3, of: 10 });
      await released;
      return 1;
    });
    const id = await queue.enqueue(task);
    const worker = queue.worker();
    await worker.start();
    await waitUntil(async () => {
      const result = await queue.getResult(id);
      return result.status === "running" && result.progress !== undefined;
    }, "the progress to be stored");
    expect(await queue.getResult(id)).toMatchObject({
      status: "running",
      attempts: 1,
      progress: { done: 3, of: 10 },
    });
    release();
    await queue.waitForResult(id);
    await worker.stop();
    await queue.close();
  });

  test("subscribe refuses a bad listener or option", async () => {
    const queue = new TaskQueue(new SQLiteBackend(":memory:"));
    // deno-lint-ignore no-explicit-any
    const loose = queue as any;
    await expect(loose.subscribe("nope")).rejects.toThrow(TypeError);
    await expect(loose.subscribe(() => {}, { types: ["begun"] })).rejects
      .toThrow(RangeError);
    await expect(loose.subscribe(() => {}, { nope: 1 })).rejects.toThrow(
      TypeError,
    );
    await queue.close();
  });
});

describe("task events and cancels across processes", () => {
  test(
    "a subscriber registered while a worker process runs gets every event from then on; cancelTasks by name aborts the tasks there",
    async () => {
      const path = tempDbPath();
      const queue = new TaskQueue(new SQLiteBackend(path));
      await queue.stats(); // creates the file before the children open it
      const worker = await spawnRole(path, { role: "worker" });
      const hold = declareTask<[], string>("hold");
      queue.declare(hold);
      const before = await queue.enqueue(hold);
      await waitUntil(
        () => worker.stdout.includes(`{"started":${before}}`),
        "the first held task to start",
      );
      const events: TaskEvent[] = [];
      const subscription = await queue.subscribe((event) => events.push(event));
      const after = await queue.enqueue(hold);
      await waitUntil(
        () => worker.stdout.includes(`{"started":${after}}`),
        "the second held task to start",
      );
      expect((await queue.getResult(after)).status).toBe("running");
      expect(await queue.cancelTasks({ name: "hold", status: "running" })).toBe(
        2,
      );
      await waitUntil(
        () =>
          worker.stdout.includes(`{"aborted":${before},"code":"CANCELLED"}`) &&
          worker.stdout.includes(`{"aborted":${after},"code":"CANCELLED"}`),
        "both handlers to be aborted",
      );
      await waitUntil(
        () => events.filter((event) => event.type === "cancelled").length === 2,
        "both cancelled events",
      );
      // Registered after the first task's enqueue and start: only its cancel.
      expect(
        events.filter((event) => event.taskId === before).map((e) => e.type),
      ).toEqual(["cancelled"]);
      expect(
        events.filter((event) => event.taskId === after).map((e) => e.type),
      ).toEqual(["enqueued", "started", "cancelled"]);
      worker.proc.stdin!.write("release\n");
      worker.proc.stdin!.write("stop\n");
      expect(await worker.exited).toBe(0);
      for (const id of [before, after]) {
        expect(await queue.getResult(id)).toEqual({
          status: "cancelled",
          attempts: 1,
        });
      }
      await subscription.close();
      await queue.close();
    },
    30_000,
  );
});
