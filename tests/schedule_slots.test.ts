/**
 * The slots of recurring schedules as pure computation (no database):
 * cron expressions across daylight-saving changes, compared with the
 * expected UTC instants; intervals aligned on the epoch; which slots a
 * firing takes under each catch-up policy; the field a bad expression is
 * blamed on.
 */
import { describe, expect, test } from "bun:test";
import { InvalidCronError } from "../mod.ts";
import { dueSlots, ON_TIME_MS } from "../lib/schedule/due_slots.ts";
import {
  cronRecurrence,
  everyRecurrence,
  type Recurrence,
} from "../lib/schedule/recurrence.ts";

/** The next `count` slots after `from`, as ISO strings. */
function nextSlots(recurrence: Recurrence, from: string, count: number) {
  const slots: string[] = [];
  let at = Date.parse(from);
  for (let i = 0; i < count; i++) {
    at = recurrence.next(at)!;
    slots.push(new Date(at).toISOString());
  }
  return slots;
}

describe("cron slots across daylight-saving changes", () => {
  test("Europe/Berlin, 02:30 daily: the skipped 02:30 of the spring change runs at 03:00 CEST, once", () => {
    const daily = cronRecurrence("30 2 * * *", "Europe/Berlin");
    expect(nextSlots(daily, "2026-03-27T12:00:00Z", 3)).toEqual([
      "2026-03-28T01:30:00.000Z", // 02:30 CET
      "2026-03-29T01:00:00.000Z", // 03:00 CEST: 02:30 does not exist
      "2026-03-30T00:30:00.000Z", // 02:30 CEST
    ]);
  });

  test("Europe/Berlin, 02:30 daily: the repeated 02:30 of the autumn change runs once, at the first", () => {
    const daily = cronRecurrence("30 2 * * *", "Europe/Berlin");
    expect(nextSlots(daily, "2026-10-23T12:00:00Z", 3)).toEqual([
      "2026-10-24T00:30:00.000Z", // 02:30 CEST
      "2026-10-25T00:30:00.000Z", // the first 02:30 (CEST), not 01:30Z too
      "2026-10-26T01:30:00.000Z", // 02:30 CET
    ]);
  });

  test("Europe/Berlin, hourly: every real hour through both changes", () => {
    const hourly = cronRecurrence("0 * * * *", "Europe/Berlin");
    expect(nextSlots(hourly, "2026-10-24T22:30:00Z", 5)).toEqual([
      "2026-10-24T23:00:00.000Z",
      "2026-10-25T00:00:00.000Z", // 02:00 CEST
      "2026-10-25T01:00:00.000Z", // 02:00 CET
      "2026-10-25T02:00:00.000Z",
      "2026-10-25T03:00:00.000Z",
    ]);
    expect(nextSlots(hourly, "2026-03-28T23:30:00Z", 3)).toEqual([
      "2026-03-29T00:00:00.000Z", // 01:00 CET
      "2026-03-29T01:00:00.000Z", // 03:00 CEST
      "2026-03-29T02:00:00.000Z",
    ]);
  });

  test("America/New_York, 09:00 on weekdays: 14:00Z before the change, 13:00Z after", () => {
    const weekdays = cronRecurrence("0 9 * * 1-5", "America/New_York");
    expect(nextSlots(weekdays, "2026-03-06T00:00:00Z", 2)).toEqual([
      "2026-03-06T14:00:00.000Z", // Friday, EST
      "2026-03-09T13:00:00.000Z", // Monday, EDT
    ]);
  });

  test("previous slots come newest first, across the change too", () => {
    const daily = cronRecurrence("30 2 * * *", "Europe/Berlin");
    expect(
      daily.previous(3, Date.parse("2026-03-31T00:00:00Z")).map((at) =>
        new Date(at).toISOString()
      ),
    ).toEqual([
      "2026-03-30T00:30:00.000Z",
      "2026-03-29T01:00:00.000Z",
      "2026-03-28T01:30:00.000Z",
    ]);
  });

  test("six fields: a seconds field first; UTC by default", () => {
    const quarter = cronRecurrence("*/15 * * * * *", "UTC");
    expect([quarter.next(0), quarter.next(15_000), quarter.next(15_001)])
      .toEqual([15_000, 30_000, 30_000]);
  });
});

describe("interval slots", () => {
  test("aligned on the epoch, the same in every process", () => {
    const minute = everyRecurrence(60_000);
    expect([minute.next(0), minute.next(59_999), minute.next(60_000)])
      .toEqual([60_000, 60_000, 120_000]);
    expect(minute.previous(3, 180_000)).toEqual([120_000, 60_000, 0]);
    expect(minute.previous(2, 180_001)).toEqual([180_000, 120_000]);
  });
});

describe("due slots and catch-up", () => {
  const every = everyRecurrence(1000);
  const now = 1_000_000_500;

  test("nothing before the next slot", () => {
    expect(dueSlots(every, "skip", now + 500, now)).toBeUndefined();
  });

  test("on-time slots (within ON_TIME_MS) all fire, whatever the policy", () => {
    const due = dueSlots(every, "skip", now - 2500, now)!;
    expect(due).toEqual({
      fire: [now - 2500, now - 1500, now - 500],
      lastSlot: now - 500,
      nextRunAt: now + 500,
    });
  });

  test("missed slots: skip fires none, once the newest, max the newest n; the next slot is after now", () => {
    const from = now - ON_TIME_MS - 10_500; // 11 missed slots, then on-time ones
    const onTime = Array.from(
      { length: ON_TIME_MS / 1000 },
      (_, i) => now - ON_TIME_MS + 500 + i * 1000,
    );
    const newestMissed = now - ON_TIME_MS - 500;
    expect(dueSlots(every, "skip", from, now)).toEqual({
      fire: onTime,
      lastSlot: onTime.at(-1)!,
      nextRunAt: now + 500,
    });
    expect(dueSlots(every, "once", from, now)!.fire).toEqual([
      newestMissed,
      ...onTime,
    ]);
    expect(dueSlots(every, { max: 3 }, from, now)!.fire).toEqual([
      newestMissed - 2000,
      newestMissed - 1000,
      newestMissed,
      ...onTime,
    ]);
    expect(dueSlots(every, { max: 50 }, from, now)!.fire.length).toBe(
      11 + onTime.length,
    );
  });

  test("skip with only missed slots fires nothing and moves past them", () => {
    const hourly = everyRecurrence(3_600_000);
    const at = 10 * 3_600_000 + 30_000;
    expect(dueSlots(hourly, "skip", 3_600_000, at)).toEqual({
      fire: [],
      lastSlot: 10 * 3_600_000,
      nextRunAt: 11 * 3_600_000,
    });
  });
});

describe("bad cron expressions name the field", () => {
  for (
    const [expression, field] of [
      ["61 * * * *", "minute"],
      ["0 24 * * *", "hour"],
      ["0 0 32 * *", "day of month"],
      ["0 0 * 13 *", "month"],
      ["0 0 * * 8", "day of week"],
      ["60 0 0 * * *", "second"],
      ["0 x * * *", "hour"],
    ] as const
  ) {
    test(`${JSON.stringify(expression)}: ${field}`, () => {
      let error: unknown;
      try {
        cronRecurrence(expression, "UTC");
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(InvalidCronError);
      expect((error as InvalidCronError).field).toBe(field);
      expect((error as Error).message).toContain(JSON.stringify(expression));
      expect((error as Error).message).toContain(`the ${field} field`);
    });
  }

  test("a wrong number of fields, and a date that never comes", () => {
    expect(() => cronRecurrence("* * * * * * *", "UTC")).toThrow(
      /7 fields; give five/,
    );
    expect(() => cronRecurrence("0 0 30 2 *", "UTC")).toThrow(
      /no date ever matches it/,
    );
  });
});
