/**
 * Recurring schedules across processes: worker processes of the runtime
 * running the suite (tests/fixtures/schedule_worker.mjs) all declare one
 * schedule at start-up, at once, and all run a worker that fires it.
 * There is one stored schedule, never changed by the declarations after
 * the first, and one task per slot: the slots of the tasks are distinct
 * and consecutive. Run by tests/schedules_processes.test.ts on SQLite
 * files and PostgreSQL; the assertions are on slot keys and counts, never
 * on durations.
 *
 * @module
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import {
  type Claimer,
  describeClaimer,
  spawnClaimer,
} from "./claim_processes.ts";
import type { Suite } from "./harness.ts";
import { waitFor } from "./harness.ts";

const WORKER = fileURLToPath(
  new URL("../fixtures/schedule_worker.mjs", import.meta.url),
);

/** How many processes declare and fire the schedule. */
const PROCESSES = 4;
/** The schedule's interval, ms: small, so slots come quickly. */
const EVERY = 500;
/** How many slots to see fired before stopping. */
const SLOTS = 6;

/** Resolves once `child` printed `line`; rejects if it exits first. */
async function printed(child: Claimer, line: string): Promise<void> {
  let exited = false;
  void child.exited.then(() => (exited = true));
  while (!child.stdout.includes(`${line}\n`)) {
    if (exited) {
      throw new Error(`worker exited early\n${describeClaimer(child)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Registers the cross-process schedule tests (stores processes can open). */
export function scheduleProcessTests({ test, factory }: Suite): void {
  if (!factory.processes) return;

  test(
    `${PROCESSES} processes declaring one schedule at start-up store it once and fire one task per slot`,
    async (t) => {
      const store = t.store();
      await store.backend.open();
      const children = Array.from(
        { length: PROCESSES },
        () =>
          spawnClaimer(
            { store: store.spec, name: "beat", every: EVERY },
            t.sitqModule,
            WORKER,
          ),
      );
      t.defer(() => {
        for (const child of children) child.proc.kill("SIGKILL");
      });
      await Promise.all(children.map((child) => printed(child, "waiting")));
      for (const child of children) child.proc.stdin!.write("go\n");
      await Promise.all(children.map((child) => printed(child, "ready")));
      const keys = async () =>
        (await store.backend.listTasks({ name: "tick", limit: 10_000 }))
          .map((row) => row.unique_key!);
      await waitFor(
        async () => (await keys()).length >= SLOTS,
        `${SLOTS} slots fired`,
        30_000,
      );
      for (const child of children) child.proc.stdin!.end("stop\n");
      for (const child of children) {
        const code = await child.exited;
        assert.equal(code, 0, describeClaimer(child));
      }
      const schedules = await store.backend.listSchedules();
      assert.equal(schedules.length, 1);
      assert.equal(schedules[0]!.revision, 1, "no declaration changed it");
      const updated = children.map((child) =>
        (JSON.parse(
          child.stdout.split("\n").find((line) => line.startsWith("{"))!,
        ) as { updatedAt: number }).updatedAt
      );
      assert.equal(new Set(updated).size, 1, "all were told the same row");
      const all = await keys();
      const slots = all.map((key) => Number(key.split(":")[2])).sort((a, b) =>
        a - b
      );
      assert.ok(all.every((key) => key.startsWith("schedule:beat:")));
      assert.equal(new Set(slots).size, slots.length, `distinct: ${slots}`);
      for (let i = 1; i < slots.length; i++) {
        assert.equal(
          slots[i]! - slots[i - 1]!,
          EVERY,
          `consecutive slots: ${slots.join(", ")}`,
        );
      }
      assert.equal(schedules[0]!.last_slot, slots.at(-1));
    },
    { timeout: 60_000 },
  );
}
