/**
 * Gives the event loop a turn when sitq's own calls have held it too long.
 *
 * The SQLite drivers are synchronous, so an awaited sitq call settles in
 * microtasks alone: a loop such as `for (…) await queue.enqueue(…)` never
 * lets the event loop reach its timers phase, however long it runs. Every
 * timer in the process then starves, sitq's own included: lease heartbeats
 * stop (another process may then run a healthy task twice), task timeouts
 * and wait deadlines do not fire. Each backend call therefore asks
 * {@linkcode macrotaskTurn} first; it costs a clock read while the loop is
 * turning, and one `setImmediate` round trip once a turn is overdue.
 *
 * `setImmediate` rather than `setTimeout(0)`: it resolves in the same loop
 * iteration's check phase, after which due timers run, without the 1 ms
 * minimum delay of a timer (measured alike on Bun, Deno and Node).
 *
 * @module
 */
import { setImmediate } from "node:timers";

/**
 * How long, in milliseconds, sitq's calls may hold the event loop before
 * they yield. Small against any lease, timeout or poll interval, large
 * against one call (tens of microseconds to an fsync), so a yield is paid
 * once per many calls.
 */
export const MAX_HOLD_MS = 10;

// Whether a marker macrotask is scheduled and has not run yet: while it is
// pending, the loop has not turned since `since`.
let markerPending = false;
let since = 0;

function markTurn(): void {
  markerPending = false;
}

function turn(resolve: () => void): void {
  setImmediate(resolve);
}

/**
 * Resolves at once while the event loop has turned within the last
 * {@linkcode MAX_HOLD_MS}; otherwise after one macrotask turn. Returns
 * `undefined` in the common case, so callers skip an `await` and its
 * promise.
 */
export function macrotaskTurn(): Promise<void> | undefined {
  if (!markerPending) {
    // Start a new watch: the marker runs at the loop's next turn.
    markerPending = true;
    since = performance.now();
    setImmediate(markTurn);
    return undefined;
  }
  if (performance.now() - since < MAX_HOLD_MS) return undefined;
  // The marker scheduled earlier runs in this same turn, before the yield
  // resolves, so the next call starts a fresh watch.
  return new Promise(turn);
}
