/**
 * An hour of finished work for the dashboard's throughput chart: batches of
 * tasks enqueued and run by a worker whose clock is set back 55, 50, …, 0
 * minutes, so their finish times spread over the last hour. Task names of
 * their own ("sync-inventory", "make-thumbnail"), so that no other worker
 * of the test takes them.
 *
 * @module
 */
import { SQLiteBackend, TaskQueue } from "../../mod.ts";

/** How many tasks {@linkcode seedHistory} finished, per status. */
export interface History {
  completed: number;
  failed: number;
}

/** Runs the batches on the SQLite file at `path`. */
export async function seedHistory(path: string): Promise<History> {
  const history: History = { completed: 0, failed: 0 };
  for (let minutesAgo = 55; minutesAgo >= 0; minutesAgo -= 5) {
    const offset = minutesAgo * 60_000;
    const clock = { now: () => Date.now() - offset };
    const queue = new TaskQueue(new SQLiteBackend(path), { clock });
    try {
      const sync = queue.task(
        "sync-inventory",
        (sku: string, ok: boolean) => {
          if (!ok) throw new Error(`supplier timed out for ${sku}`);
          return { sku, updated: true };
        },
        { maxAttempts: 1, queue: "inventory" },
      );
      const thumb = queue.task(
        "make-thumbnail",
        (file: string) => ({ file, width: 320 }),
        { queue: "media" },
      );
      // A wave: busier in the middle of the hour.
      const n = 4 + Math.round(8 * Math.sin((minutesAgo / 55) * Math.PI));
      const ids = [];
      for (let i = 0; i < n; i++) {
        const ok = (i + minutesAgo) % 7 !== 0;
        ids.push(await queue.enqueue(sync, `sku-${minutesAgo}-${i}`, ok));
        if (ok) history.completed++;
        else history.failed++;
        if (i % 2 === 0) {
          ids.push(await queue.enqueue(thumb, `photo-${minutesAgo}-${i}.jpg`));
          history.completed++;
        }
      }
      const worker = queue.worker({ clock, concurrency: 8, pollInterval: 20 });
      await worker.start();
      for (const id of ids) await queue.waitForResult(id, { timeout: 20_000 });
      await worker.stop();
    } finally {
      await queue.close();
    }
  }
  return history;
}
