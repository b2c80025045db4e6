/**
 * The peer workloads, the same for every library: enqueue one at a time,
 * enqueue in bulk, and drain a full queue at a given concurrency.
 *
 * @module
 */
import { nowMs } from "../common/stats.js";

/**
 * @typedef {object} PeerTimed
 * @property {number} ops
 * @property {number} seconds
 * @property {number[]} [latencies]
 * @property {string} [note]
 */

/**
 * Adds `n` jobs one call at a time, awaiting each.
 *
 * @param {import("./peer.js").PeerSession} session
 * @param {number} n
 * @returns {Promise<PeerTimed>}
 */
export async function enqueueOne(session, n) {
  const latencies = new Array(n);
  const start = nowMs();
  for (let i = 0; i < n; i++) {
    const t0 = nowMs();
    await session.enqueueOne(i);
    latencies[i] = nowMs() - t0;
  }
  return { ops: n, seconds: (nowMs() - start) / 1000, latencies };
}

/**
 * Adds `n` jobs with the library's bulk API.
 *
 * @param {import("./peer.js").PeerSession} session
 * @param {number} n
 * @returns {Promise<PeerTimed>}
 */
export async function enqueueBulk(session, n) {
  const bulk = session.enqueueBulk;
  if (!bulk) throw new NotSupported("has no bulk enqueue API");
  const start = nowMs();
  await bulk(n);
  return { ops: n, seconds: (nowMs() - start) / 1000 };
}

/**
 * Fills the queue (untimed), then times workers draining it, from starting
 * them to the last completion, or to `maxSeconds` if that comes first: the
 * rate is then over the jobs completed by the deadline.
 *
 * @param {import("./peer.js").PeerSession} session
 * @param {number} n
 * @param {number} concurrency
 * @param {number} maxSeconds
 * @returns {Promise<PeerTimed>}
 */
export async function drain(session, n, concurrency, maxSeconds) {
  await session.prefill(n);
  const start = nowMs();
  const completed = await session.drain(n, concurrency, maxSeconds * 1000);
  const seconds = (nowMs() - start) / 1000;
  if (completed === 0) throw new Error(`drained none of ${n} jobs`);
  const notes = [];
  if (!session.enqueueBulk) notes.push("no bulk API: prefilled singly");
  if (completed < n) {
    notes.push(`time-boxed at ${maxSeconds} s: ${completed} of ${n} done`);
  }
  return { ops: completed, seconds, note: notes.join("; ") || undefined };
}

/** A workload the library has no API for: reported as a skip, not a failure. */
export class NotSupported extends Error {}
