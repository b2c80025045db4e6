/**
 * Queues, schedules and the schema: `pause`/`resume` a queue, `queues`,
 * `schedules` (list, pause, resume, remove) and `migrate`.
 *
 * @module
 */
import type { Backend } from "../../storage/backend.ts";
import type { QueueAdmin } from "../../queue/queue_admin.ts";
import type { CommandContext } from "../context.ts";
import { CliError, EXIT } from "../errors.ts";
import { formatDate, formatDuration, table } from "../format.ts";
import { withSpinner } from "../progress.ts";

/** `sitq pause <queue>` and `sitq resume <queue>`. */
export async function pauseCommand(
  admin: QueueAdmin,
  name: string,
  paused: boolean,
  ctx: CommandContext,
): Promise<void> {
  const queues = admin.queues;
  if (paused) await queues.pause(name);
  else await queues.resume(name);
  const info = await queues.get(name);
  if (ctx.json) return ctx.printJson(info);
  ctx.print(`queue ${name} ${info.paused ? "paused" : "resumed"}`);
}

/** `sitq queues`: every queue with its settings and counts. */
export async function queuesCommand(
  admin: QueueAdmin,
  ctx: CommandContext,
): Promise<void> {
  const list = await admin.queues.list();
  if (ctx.json) return ctx.printJson(list);
  ctx.print(
    list.length === 0 ? "no queues" : table(
      [
        "queue",
        "paused",
        "concurrency",
        "rate limit",
        "queued",
        "running",
        "due",
        "oldest queued",
      ],
      list.map((q) => [
        q.name,
        q.paused ? "yes" : "no",
        q.concurrency === null ? "" : String(q.concurrency),
        q.rateLimit === null
          ? ""
          : `${q.rateLimit.limit}/${formatDuration(q.rateLimit.intervalMs)}`,
        String(q.counts.queued ?? 0),
        String(q.counts.running ?? 0),
        String(q.dueUnclaimed),
        formatDuration(q.oldestQueuedAgeMs),
      ]),
      { numeric: [4, 5, 6] },
    ),
  );
}

/** `sitq schedules`: the recurring schedules. */
export async function schedulesCommand(
  admin: QueueAdmin,
  ctx: CommandContext,
): Promise<void> {
  const list = await admin.schedules.list();
  if (ctx.json) return ctx.printJson(list);
  ctx.print(
    list.length === 0 ? "no schedules" : table(
      ["schedule", "task", "queue", "when", "paused", "next run", "last slot"],
      list.map((s) => [
        s.name,
        s.taskName,
        s.queue,
        s.cron !== null
          ? `cron ${s.cron} ${s.timezone}`
          : `every ${formatDuration(s.every)}`,
        s.paused ? "yes" : "no",
        formatDate(s.nextRunAt),
        formatDate(s.lastSlotAt),
      ]),
    ),
  );
}

/** `sitq schedules pause|resume|remove <name>`. */
export async function scheduleActionCommand(
  admin: QueueAdmin,
  action: "pause" | "resume" | "remove",
  name: string,
  ctx: CommandContext,
): Promise<void> {
  const schedules = admin.schedules;
  if (action === "remove") {
    if (!(await schedules.remove(name))) {
      throw new CliError(
        `no schedule named ${name}`,
        EXIT.NOT_FOUND,
        "NOT_FOUND",
      );
    }
    if (ctx.json) return ctx.printJson({ removed: name });
    return ctx.print(`schedule ${name} removed`);
  }
  if ((await schedules.get(name)) === undefined) {
    throw new CliError(
      `no schedule named ${name}`,
      EXIT.NOT_FOUND,
      "NOT_FOUND",
    );
  }
  if (action === "pause") await schedules.pause(name);
  else await schedules.resume(name);
  const info = await schedules.get(name);
  if (ctx.json) return ctx.printJson(info);
  ctx.print(`schedule ${name} ${action === "pause" ? "paused" : "resumed"}`);
}

/**
 * `sitq migrate`: creates the database (a SQLite file, or the PostgreSQL
 * schema) if missing and brings its tables up to date, as any first use
 * would, but on purpose (before deploying workers of a newer sitq).
 */
export async function migrateCommand(
  backend: Backend,
  ctx: CommandContext,
): Promise<void> {
  await withSpinner(
    "migrating",
    ctx.progress && !ctx.json,
    () => backend.open(),
  );
  if (ctx.json) {
    return ctx.printJson({ database: backend.description, migrated: true });
  }
  ctx.print(`${backend.description}: schema up to date`);
}
