/**
 * SQLite's plans for the reads of a keyed enqueue: finding a key's holder
 * (and, for requeue, another holder) walks the partial unique index
 * `sitq_tasks_unique_key` (migration v4) and reads one row, however many
 * tasks the table holds. SQLite uses a partial index only for a query that
 * states the index's condition itself, so a query that drifted from the
 * index's wording would scan the table: this catches it. Plans, not
 * timings. The statements have the shapes
 * lib/storage/queries/key_holders.ts compiles.
 */
import { afterAll, expect, test } from "bun:test";
import { cleanup, newQueue, tempDbPath, withRaw } from "./helpers.ts";

afterAll(cleanup);

const HOLDS_KEY =
  `("status" in ('waiting', 'queued', 'running') or ("status" = 'completed' and "unique_for" is not null and "unique_released_at" is null))`;
const HOLDER =
  `select "id", "status", "finished_at", "unique_for" from "sitq_tasks" where "name" = ? and "unique_key" = ? and ${HOLDS_KEY}`;
const OTHER_HOLDER = `${HOLDER} and "id" <> ?`;

function plan(path: string, statement: string, params: unknown[]): string {
  return withRaw(
    path,
    (db) =>
      (db.query(`explain query plan ${statement}`).all(
        ...(params as string[]),
      ) as Array<{ detail: string }>).map((row) => row.detail).join(" | "),
  );
}

test("finding a key's holder walks the unique key index", async () => {
  const path = tempDbPath();
  const queue = newQueue({}, path);
  const job = queue.task("job", (n: number) => n);
  await queue.enqueueManyUnique(
    job,
    Array.from({ length: 2000 }, (_, n) => [n] as [number]),
    { uniqueKey: (n) => `k${n}` },
  );
  await queue.enqueueMany(job, Array.from({ length: 2000 }, () => [0]));
  await queue.close();
  for (
    const [statement, params] of [
      [HOLDER, ["job", "k500"]],
      [OTHER_HOLDER, ["job", "k500", 1]],
    ] as const
  ) {
    const holder = plan(path, statement, [...params]);
    expect(holder).toContain("USING INDEX sitq_tasks_unique_key");
    expect(holder).not.toMatch(/SCAN sitq_tasks\b(?! USING)/);
  }
});
