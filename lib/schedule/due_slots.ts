/**
 * Which slots of a schedule to fire now, and where its next slot is: the
 * catch-up policy, as pure computation over a {@linkcode Recurrence}.
 *
 * A slot is *on time* while it is at most {@linkcode ON_TIME_MS} old: a
 * worker that fires it a little late (a busy machine, a timer that came
 * late, a worker restarting) still fires it, each slot its own task. An
 * older slot was *missed* (no worker ran then), and the schedule's
 * `catchUp` decides: `"skip"` fires none of them, `"once"` fires one task
 * for all of them (keyed by the newest), `{ max: n }` fires the newest n,
 * each its own task.
 *
 * @module
 */
import type { Recurrence } from "./recurrence.ts";

/** What a schedule does with the slots missed while no worker ran. */
export type CatchUp = "skip" | "once" | { max: number };

/**
 * How late (ms) a slot may be fired and still count as on time rather
 * than missed.
 */
export const ON_TIME_MS = 10_000;

/** The most slots fired in one go; the rest follow in the next. */
export const MAX_SLOTS_PER_FIRING = 1000;

/** The largest `catchUp.max`. */
export const MAX_CATCH_UP: number = MAX_SLOTS_PER_FIRING;

/** What to do for a schedule whose next slot has come. */
export interface DueSlots {
  /** The slots to enqueue a task for, oldest first (maybe none: all skipped). */
  fire: number[];
  /** The newest slot this firing dealt with (fired or skipped). */
  lastSlot: number;
  /** The schedule's next slot after this firing, or null: none ever. */
  nextRunAt: number | null;
}

/** How many missed slots `catchUp` fires. */
function missedToFire(catchUp: CatchUp): number {
  return catchUp === "skip" ? 0 : catchUp === "once" ? 1 : catchUp.max;
}

/**
 * The slots to fire at `now` for a schedule whose first unfired slot is
 * `nextRunAt`, or undefined when that slot has not come yet.
 *
 * @param recurrence The schedule's slots.
 * @param catchUp Its policy for missed slots.
 * @param nextRunAt Its first unfired slot (epoch ms).
 * @param now Epoch ms.
 */
export function dueSlots(
  recurrence: Recurrence,
  catchUp: CatchUp,
  nextRunAt: number,
  now: number,
): DueSlots | undefined {
  if (nextRunAt > now) return undefined;
  const onTimeFrom = now - ON_TIME_MS;
  const fire: number[] = [];
  let lastSlot = nextRunAt;
  if (nextRunAt < onTimeFrom) {
    const missed = recurrence.previous(1, onTimeFrom)[0];
    if (missed !== undefined && missed >= nextRunAt) lastSlot = missed;
    const count = Math.min(missedToFire(catchUp), MAX_SLOTS_PER_FIRING);
    if (count > 0) {
      fire.push(
        ...recurrence.previous(count, onTimeFrom)
          .filter((slot) => slot >= nextRunAt)
          .reverse(),
      );
    }
  }
  let slot: number | null = nextRunAt >= onTimeFrom
    ? nextRunAt
    : recurrence.next(onTimeFrom - 1);
  while (slot !== null && slot <= now) {
    if (fire.length >= MAX_SLOTS_PER_FIRING) break;
    fire.push(slot);
    lastSlot = slot;
    slot = recurrence.next(slot);
  }
  return { fire, lastSlot, nextRunAt: slot };
}
