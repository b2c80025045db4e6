/**
 * Unique keys across processes: child processes of the runtime running the
 * suite (tests/fixtures/unique_producer.mjs) enqueue one key as fast as
 * they can, all at once, while this process watches how many live tasks
 * hold the key (each look one statement, so one consistent snapshot) and,
 * in one test, runs a worker that completes them as they come. There is
 * never more than one, and every process is told the same holder. The
 * counts are printed: they are the figures of the closing note.
 *
 * @module
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import type { Backend } from "../../lib/storage/backend.ts";
import {
  type Claimer,
  describeClaimer,
  ready,
  spawnClaimer,
} from "./claim_processes.ts";
import type { Suite, TestContext } from "./harness.ts";
import { liveWithKey } from "./unique_keys.ts";

const PRODUCER = fileURLToPath(
  new URL("../fixtures/unique_producer.mjs", import.meta.url),
);

/**
 * How many processes race, and how many enqueues each makes: enough to
 * overlap thoroughly, few enough that every runtime's run of the suite
 * (several at once, in runtimes.test.ts) stays within its time.
 */
const PROCESSES = 4;
const ENQUEUES = 50;

/** How many distinct holders each producer waits to see while a worker completes them. */
const CYCLES = 5;

/** What a producer printed. */
interface Produced {
  created: number[];
  replaced: number;
  kept: number;
  holders: number[];
  enqueues: number;
}

async function producedBy(child: Claimer): Promise<Produced> {
  const code = await child.exited;
  const line = child.stdout.split("\n").find((l) => l.startsWith("{"));
  if (code !== 0 || line === undefined) {
    throw new Error(`producer exited with ${code}\n${describeClaimer(child)}`);
  }
  return JSON.parse(line) as Produced;
}

/**
 * Starts the producers, fires them together, and samples the live holders
 * of `key` until all exit; returns what each printed and every sample.
 */
async function race(
  t: TestContext,
  key: string,
  onDuplicate: "keep" | "replace",
  holders?: number,
): Promise<{ produced: Produced[]; samples: number[] }> {
  const store = t.store();
  // Opened (migrated) now: an open under the racing writers' lock would
  // wait for it past SQLite's busy timeout.
  await store.backend.open();
  const children = Array.from(
    { length: PROCESSES },
    (_, n) =>
      spawnClaimer(
        {
          store: store.spec,
          key,
          count: ENQUEUES,
          onDuplicate,
          tag: `p${n}`,
          holders,
        },
        t.sitqModule,
        PRODUCER,
      ),
  );
  t.defer(() => {
    for (const child of children) child.proc.kill("SIGKILL");
  });
  await Promise.all(children.map(ready));
  for (const child of children) child.proc.stdin!.end("go\n");
  const all = Promise.all(children.map(producedBy));
  let done = false;
  void all.then(() => (done = true), () => (done = true));
  const samples: number[] = [];
  while (!done) {
    samples.push((await liveWithKey(store.backend, key)).length);
    // A turn for this process's worker, when a test runs one.
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  return { produced: await all, samples };
}

/**
 * One line of figures for the closing note, on stderr: the suite's runner
 * on Deno and Node reports its results on stdout.
 */
function report(
  t: TestContext,
  what: string,
  figures: Record<string, number>,
): void {
  console.error(
    `[unique keys, ${t.factory.name}] ${what}: ${
      Object.entries(figures).map(([k, v]) => `${k} ${v}`).join(", ")
    }`,
  );
}

/** The counts a race adds up to. */
function totals(produced: readonly Produced[]) {
  const created = produced.flatMap((p) => p.created);
  return {
    enqueues: produced.reduce((sum, p) => sum + p.enqueues, 0),
    created,
    replaced: produced.reduce((sum, p) => sum + p.replaced, 0),
    kept: produced.reduce((sum, p) => sum + p.kept, 0),
  };
}

/** Registers the cross-process unique key tests (for stores processes can open). */
export function uniqueProcessTests({ test, factory }: Suite): void {
  if (!factory.processes) return;

  test(
    `${PROCESSES} processes enqueueing one key ${ENQUEUES} times each create one task, and all are told its id`,
    async (t) => {
      const { produced, samples } = await race(t, "hot", "keep");
      const { created, replaced, kept } = totals(produced);
      report(t, "keep, no worker", {
        processes: PROCESSES,
        enqueues: PROCESSES * ENQUEUES,
        created: created.length,
        kept,
        "live samples": samples.length,
        "max live": Math.max(0, ...samples),
      });
      assert.equal(created.length, 1, JSON.stringify(produced));
      assert.equal(replaced, 0);
      assert.equal(kept, PROCESSES * ENQUEUES - 1);
      for (const p of produced) assert.deepEqual(p.holders, created);
      assert.ok(samples.every((n) => n <= 1), JSON.stringify(samples));
      assert.deepEqual(await liveWithKey(t.backend(), "hot"), created);
    },
    { timeout: 120_000 },
  );

  test(
    `${PROCESSES} processes enqueueing one key while a worker here completes each task (until each saw ${CYCLES} holders) never see two live tasks`,
    async (t) => {
      const backend: Backend = t.backend();
      const queue = new t.sitq.TaskQueue(backend);
      const job = t.sitq.declareTask<[string, number], null>("job");
      queue.task(job, () => null);
      const worker = queue.worker({ pollInterval: 5, concurrency: 1 });
      await worker.start();
      t.defer(() => worker.stop());
      const { produced, samples } = await race(t, "cycling", "keep", CYCLES);
      await worker.stop();
      const { created, kept, enqueues } = totals(produced);
      const all = await backend.listTasks({ name: "job", limit: 100_000 });
      const withKey = all.filter((row) => row.unique_key === "cycling");
      report(t, "keep, a worker completing them", {
        processes: PROCESSES,
        enqueues,
        created: created.length,
        kept,
        "live samples": samples.length,
        "max live": Math.max(0, ...samples),
      });
      assert.ok(samples.every((n) => n <= 1), JSON.stringify(samples));
      assert.ok(created.length >= CYCLES, `${created.length} tasks created`);
      assert.equal(kept, enqueues - created.length);
      assert.equal(new Set(created).size, created.length);
      assert.deepEqual(
        withKey.map((row) => row.id).sort((a, b) => a - b),
        [...created].sort((a, b) => a - b),
        "every task with the key was reported created by exactly one enqueue",
      );
      assert.ok(
        withKey.filter((row) => row.status !== "completed").length <= 1,
      );
    },
    { timeout: 120_000 },
  );

  test(
    `${PROCESSES} processes replacing one key's run create one task, every other call replaces it, and the last write wins`,
    async (t) => {
      const { produced, samples } = await race(t, "latest", "replace");
      const { created, replaced, kept } = totals(produced);
      report(t, "replace, no worker", {
        processes: PROCESSES,
        enqueues: PROCESSES * ENQUEUES,
        created: created.length,
        replaced,
        kept,
        "max live": Math.max(0, ...samples),
      });
      assert.equal(created.length, 1, JSON.stringify(produced));
      assert.equal(replaced, PROCESSES * ENQUEUES - 1);
      assert.equal(kept, 0);
      assert.ok(samples.every((n) => n <= 1), JSON.stringify(samples));
      const queue = new t.sitq.TaskQueue(t.backend());
      const { tasks } = await queue.listTasks({ name: "job" });
      assert.deepEqual(tasks.map((task) => task.id), created);
      // The last replace to commit was some process's last enqueue.
      const [tag, n] = tasks[0]!.args as [string, number];
      assert.match(tag, /^p\d$/);
      assert.equal(n, ENQUEUES - 1, JSON.stringify(tasks[0]!.args));
      assert.deepEqual([tasks[0]!.status, tasks[0]!.attempts], ["queued", 0]);
    },
    { timeout: 120_000 },
  );
}
