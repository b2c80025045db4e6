/**
 * sitq's calls must not starve the event loop (issue: a loop of awaited
 * enqueues ran zero timer ticks, and a worker in the same process lost the
 * lease of a healthy task). On every runtime and driver.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { cleanupTempDirs, ROOT, run, tempDbPath } from "./helpers.ts";
import { buildDist, RUNTIME_ROWS } from "./runtimes/matrix.ts";

const FIXTURE = join(ROOT, "tests/fixtures/event_loop.mjs");
// How long the fixture enqueues, one awaited call at a time: longer than
// its worker's 1 s lease, so a starved heartbeat lets the lease lapse.
const LOOP_MS = 1500;

beforeAll(() => buildDist(), 60_000);
afterAll(cleanupTempDirs);

describe.each(RUNTIME_ROWS)("%s", (_, runtime) => {
  test(
    "timers and heartbeats keep running while a loop awaits enqueues",
    async () => {
      const result = await run(
        runtime.command(FIXTURE, tempDbPath(), String(LOOP_MS)),
        { env: runtime.env, timeout: 90_000 },
      );
      expect(result.code, result.stderr).toBe(0);
      const facts = JSON.parse(result.stdout) as {
        ticks: number;
        enqueued: number;
        elapsed: number;
        leaseLive: boolean;
        held: { status: string; attempts: number };
      };
      expect(facts.enqueued).toBeGreaterThan(0);
      // Heartbeats ran during the loop, so the lease was live at its end, and
      // the healthy task completed in its one attempt.
      expect(facts.leaseLive).toBe(true);
      expect(facts.held).toEqual({ status: "completed", attempts: 1 });
      // The 10 ms interval ran. The bound is loose on purpose (a tick per
      // 100 ms of loop), so only a starved loop fails it, not a slow machine.
      expect(facts.ticks).toBeGreaterThanOrEqual(
        Math.floor(facts.elapsed / 100),
      );
      expect(facts.ticks).toBeGreaterThan(0);
    },
    120_000,
  );
});
