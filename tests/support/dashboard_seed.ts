/**
 * Tasks in every status for the dashboard tests, on any queue: completed,
 * failed (two attempts, with a stack), running (holding until released,
 * with progress), queued (delayed), waiting (a workflow step after a
 * delayed task), cancelled, and values that would run script if a page
 * rendered them as HTML (`window.__xss`). Emails run in queue "emails",
 * charges in "billing", the rest in "default"; two schedules (one paused).
 *
 * @module
 */
import {
  type TaskContext,
  type TaskId,
  type TaskQueue,
  Workflow,
} from "../../mod.ts";

/** Markup that sets `window.__xss` if it is ever parsed as HTML. */
export const XSS = {
  script: "<script>window.__xss = 'script'</script>",
  img: `<img src=x onerror="window.__xss = 'img'">`,
};

/** What {@linkcode seedEveryStatus} made. */
export interface Seeded {
  ids: {
    /** The three send-email tasks (the fourth, echo-html, is xssResult). */
    completed: TaskId[];
    failed: TaskId;
    running: TaskId;
    queued: TaskId;
    waiting: TaskId;
    cancelled: TaskId;
    /** Failed: markup in its arguments and error message. */
    xss: TaskId;
    /** Completed: markup in its arguments and result. */
    xssResult: TaskId;
  };
  /** Lets the running task finish. */
  release(): void;
  /** Stops the worker (after `release`). */
  stop(): Promise<void>;
}

/**
 * Enqueues and runs tasks so that every status is present, then stops
 * claiming (the worker keeps only the running task).
 */
export async function seedEveryStatus(queue: TaskQueue): Promise<Seeded> {
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let started!: () => void;
  const running = new Promise<void>((resolve) => (started = resolve));

  const email = queue.task(
    "send-email",
    (to: string, subject: string) => ({
      to,
      subject,
      messageId: `m-${to.length}`,
    }),
    { queue: "emails" },
  );
  const charge = queue.task(
    "charge-card",
    (customer: string, cents: number) => {
      throw new Error(`card declined for ${customer} (${cents} cents)`);
    },
    { maxAttempts: 2, backoff: { type: "fixed", delay: 0 }, queue: "billing" },
  );
  const report = queue.task(
    "build-report",
    async function (this: TaskContext, month: string) {
      await this.reportProgress({ month, done: 3, of: 10, note: XSS.img });
      started();
      await held;
      return `report ${month}`;
    },
  );
  const xss = queue.task(
    "render-profile",
    (bio: string, _html: string) => {
      throw new TypeError(`bad bio ${XSS.img} ${bio}`);
    },
    { maxAttempts: 1 },
  );
  const echo = queue.task(
    "echo-html",
    (text: string) => ({ html: text, also: XSS.img }),
  );
  const later = queue.task("nightly-cleanup", (_days: number) => "cleaned");

  const completed = [
    await queue.enqueue(email, "ada@example.com", "Welcome"),
    await queue.enqueue(email, "grace@example.com", "Invoice"),
    await queue.enqueue(email, "linus@example.com", "Reset your password"),
  ];
  const failed = await queue.enqueue(charge, "cus_42", 1999);
  const runningId = await queue.enqueue(report, "2026-11");
  const xssId = await queue.enqueue(xss, XSS.script, XSS.img);
  const echoId = await queue.enqueue(echo, XSS.script);
  const queued = await queue.enqueue(later.with({ delay: 3_600_000 }), 30);
  const cancelled = await queue.enqueue(later.with({ delay: 3_600_000 }), 7);
  await queue.cancel(cancelled);
  const flow = new Workflow("after-cleanup");
  const step = flow.add(email, ["ops@example.com", "Cleanup done"], {
    dependsOn: [queued],
  });
  const waiting = (await queue.enqueueWorkflow(flow)).of(step);

  await queue.schedules.set("nightly-cleanup", {
    task: later,
    args: [30],
    cron: "0 3 * * *",
  });
  await queue.schedules.set("hourly-cleanup", {
    task: later,
    args: [1],
    every: 3_600_000,
    paused: true,
  });

  const worker = queue.worker({ concurrency: 4, pollInterval: 50 });
  await worker.start();
  await running;
  for (const id of [...completed, failed, xssId, echoId]) {
    await queue.waitForResult(id, { timeout: 20_000 });
  }
  return {
    ids: {
      completed,
      failed,
      running: runningId,
      queued,
      waiting,
      cancelled,
      xss: xssId,
      xssResult: echoId,
    },
    release,
    stop: () => worker.stop(),
  };
}
