/**
 * PostgreSQL's one-round-trip settle-and-claim (`settle_in_one_trip.ts`):
 * the steps whose settled tasks have dependents fall back to the generic
 * transaction, which releases them, and the one-trip form works again on
 * the same connections after such a fallback (its prepared statements are
 * parsed again after a pipeline that failed); a borrowed pool whose
 * clients cannot pipeline runs every step the generic way.
 */
import { afterAll, expect, test } from "bun:test";
import pg from "pg";
import { TaskQueue, Workflow } from "../mod.ts";
import { PostgresBackend } from "../postgres.ts";
import { cleanup, closeLater } from "./helpers.ts";
import { freshSchema } from "./support/postgres_server.ts";
import { describePostgres } from "./support/postgres_tests.ts";

afterAll(cleanup);

await describePostgres("PostgreSQL one-trip settle-and-claim", (url) => {
  test(
    "workflows release their steps while plain tasks keep settling on one connection",
    async () => {
      // One connection: every step, fallbacks included, shares its
      // prepared statements.
      const backend = new PostgresBackend(url, {
        schema: freshSchema(),
        maxConnections: 1,
      });
      const queue = closeLater(new TaskQueue(backend));
      const plain = queue.task("plain", (index: number) => index);
      const step = queue.task("step", (index: number) => index * 2);
      const flows = [];
      for (let round = 0; round < 3; round++) {
        const flow = new Workflow(`chain ${round}`);
        const first = flow.add(step, [round]);
        const second = flow.add(step, [round + 10], { dependsOn: [first] });
        const last = flow.add(step, [round + 20], { dependsOn: [second] });
        flows.push({ ids: await queue.enqueueWorkflow(flow), last });
      }
      const plainIds = await queue.enqueueMany(
        plain,
        Array.from({ length: 60 }, (_, index) => [index]),
      );
      const worker = queue.worker({ concurrency: 4 });
      await worker.start();
      for (const { ids, last } of flows) {
        const result = await queue.waitForResult(ids.of(last), {
          timeout: 20_000,
        });
        expect(result.status).toBe("completed");
      }
      await worker.onIdle();
      await worker.stop();
      for (const id of plainIds) {
        const result = await queue.waitForResult(id, { timeout: 5_000 });
        expect(result.status).toBe("completed");
      }
      const stats = await queue.stats();
      expect(stats.completed).toBe(60 + 9);
      expect(stats.waiting ?? 0).toBe(0);
      expect(stats.queued).toBe(0);
      // One history row per attempt, whichever way it was written.
      for (const id of plainIds.slice(0, 5)) {
        const task = await queue.getTask(id);
        expect(task?.attempts).toBe(1);
      }
    },
    30_000,
  );

  test("a pool whose clients cannot pipeline runs every step the generic way", async () => {
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    // A pool of another make: its clients have no protocol connection.
    const plainPool = {
      async connect() {
        const client = await pool.connect();
        return {
          query: (text: string, values: unknown[]) =>
            client.query(text, values),
          release: (error?: Error | boolean) => client.release(error),
        };
      },
      end: () => pool.end(),
    };
    const backend = new PostgresBackend(plainPool, { schema: freshSchema() });
    const queue = closeLater(new TaskQueue(backend));
    const double = queue.task("double", (value: number) => value * 2);
    const ids = await queue.enqueueMany(double, [[1], [2], [3]]);
    const worker = queue.worker({ concurrency: 2 });
    await worker.start();
    const values = [];
    for (const id of ids) {
      const result = await queue.waitForResult(id, { timeout: 10_000 });
      values.push(result.status === "completed" ? result.value : undefined);
    }
    await worker.stop();
    expect(values).toEqual([2, 4, 6]);
    await queue.close();
    await pool.end();
  });
});
