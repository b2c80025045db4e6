/**
 * The dashboard over HTTP, without a browser: the handler called directly,
 * served by Bun.serve, by node:http through toNodeListener (in Bun, and on
 * Node from the npm build), and by Deno.serve in a Deno process; the token, the same-origin check on
 * actions, read-only mode, escaping of stored values, the security headers,
 * the prefix, the JSON endpoints and option errors. On a real SQLite file.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { SQLiteBackend, TaskQueue } from "../mod.ts";
import {
  CONTENT_SECURITY_POLICY,
  createDashboard,
  toNodeListener,
} from "../dashboard.ts";
import { buildDist } from "./runtimes/matrix.ts";
import {
  BIN,
  cleanup,
  closeLater,
  ROOT,
  tempDbPath,
  thrownBy,
  waitUntil,
} from "./helpers.ts";
import { type Seeded, seedEveryStatus, XSS } from "./support/dashboard_seed.ts";

let queue: TaskQueue;
let seeded: Seeded;
let dbPath: string;

beforeAll(async () => {
  dbPath = tempDbPath();
  queue = closeLater(new TaskQueue(new SQLiteBackend(dbPath)));
  seeded = await seedEveryStatus(queue);
}, 60_000);

afterAll(async () => {
  seeded.release();
  await seeded.stop();
  await cleanup();
});

const ORIGIN = "http://dash.test";

function get(
  handler: (request: Request) => Promise<Response>,
  path: string,
  headers: Record<string, string> = {},
): Promise<Response> {
  return handler(new Request(`${ORIGIN}${path}`, { headers }));
}

function post(
  handler: (request: Request) => Promise<Response>,
  path: string,
  fields: Record<string, string>,
  headers: Record<string, string> = { origin: ORIGIN },
): Promise<Response> {
  return handler(
    new Request(`${ORIGIN}${path}`, {
      method: "POST",
      headers,
      body: new URLSearchParams(fields),
    }),
  );
}

/** The CSRF token the dashboard's forms carry. */
async function csrfOf(
  handler: (request: Request) => Promise<Response>,
  path: string,
  headers: Record<string, string> = {},
): Promise<string> {
  const text = await (await get(handler, path, headers)).text();
  const token = /name="csrf" value="([0-9a-f]+)"/.exec(text)?.[1];
  if (token === undefined) throw new Error(`no CSRF token on ${path}`);
  return token;
}

/** Starts `cmd` (a server printing "listening <port>"); returns its origin. */
async function startServer(
  cmd: string[],
): Promise<{ origin: string; stop(): Promise<void> }> {
  const proc = Bun.spawn(cmd, { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  const stop = async () => {
    proc.kill();
    await proc.exited;
  };
  try {
    const reader = proc.stdout.getReader();
    let out = "";
    while (!/listening (\d+)/.test(out)) {
      const { done, value } = await reader.read();
      if (done) {
        throw new Error(
          `${cmd[0]} exited: ${await new Response(proc.stderr).text()}`,
        );
      }
      out += new TextDecoder().decode(value);
    }
    reader.releaseLock();
    return {
      origin: `http://127.0.0.1:${/listening (\d+)/.exec(out)![1]}`,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

describe("pages and endpoints", () => {
  test("the overview counts every status, with the security headers", async () => {
    const dashboard = createDashboard(queue);
    const response = await get(dashboard, "/");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-security-policy")).toBe(
      CONTENT_SECURITY_POLICY,
    );
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
    expect(response.headers.get("x-frame-options")).toBe("DENY");
    const body = await response.text();
    for (const [status, n] of Object.entries(await queue.stats())) {
      expect(body).toContain(`data-live="stats.${status}">${n}</span>`);
    }
    expect(body).toContain("charge-card");
    expect(body).toContain("read-only");
  });

  test("the JSON overview and throughput describe the stored tasks", async () => {
    const dashboard = createDashboard(queue);
    const overview = await (await get(dashboard, "/api/overview")).json() as {
      stats: Record<string, number>;
      byName: Array<{ name: string; counts: Record<string, number> }>;
    };
    expect(overview.stats).toEqual({ ...await queue.stats() });
    expect(
      overview.byName.find((row) => row.name === "send-email")?.counts
        .completed,
    ).toBe(3);
    const throughput = await (await get(dashboard, "/api/throughput"))
      .json() as {
        times: number[];
        completed: number[];
        failed: number[];
      };
    expect(throughput.times.length).toBe(60);
    expect(throughput.completed.reduce((a, b) => a + b, 0)).toBe(4);
    expect(throughput.failed.reduce((a, b) => a + b, 0)).toBe(2);
  });

  test("the list filters by status and name and pages with a cursor", async () => {
    const dashboard = createDashboard(queue);
    const failed = await (await get(dashboard, "/api/tasks?status=failed"))
      .json() as {
        tasks: Array<{ id: number; status: string }>;
      };
    expect(failed.tasks.map((t) => t.id).sort()).toEqual(
      [seeded.ids.failed, seeded.ids.xss].sort(),
    );
    const emails =
      await (await get(dashboard, "/api/tasks?name=send-email&limit=2"))
        .json() as {
          tasks: Array<{ id: number; name: string }>;
          nextCursor: string | null;
        };
    expect(emails.tasks.length).toBe(2);
    expect(emails.nextCursor).not.toBeNull();
    const rest = await (await get(
      dashboard,
      `/api/tasks?name=send-email&limit=2&cursor=${emails.nextCursor}`,
    )).json() as {
      tasks: Array<{ id: number }>;
      nextCursor: string | null;
    };
    expect(rest.tasks.length).toBe(2);
    expect(rest.nextCursor).toBeNull();
    const page = await (await get(dashboard, "/tasks?name=send-email&limit=2"))
      .text();
    expect(page).toContain(`cursor=${emails.nextCursor}`);
    // Every task is in the "default" queue; another queue has none.
    const other = await (await get(dashboard, "/api/tasks?queue=elsewhere"))
      .json() as { tasks: unknown[] };
    expect(other.tasks).toEqual([]);
  });

  test("a task's page shows its arguments, error, stack and attempts", async () => {
    const dashboard = createDashboard(queue);
    const body = await (await get(dashboard, `/tasks/${seeded.ids.failed}`))
      .text();
    expect(body).toContain("card declined for cus_42 (1999 cents)");
    expect(body).toContain("dashboard_seed.ts"); // the stack
    expect(body.match(/data-testid="attempt"/g)?.length).toBe(2);
    expect(body).toContain("&quot;cus_42&quot;");
    const running =
      await (await get(dashboard, `/api/tasks/${seeded.ids.running}`))
        .json() as {
          status: string;
          progress: string;
        };
    expect(running.status).toBe("running");
    expect(JSON.parse(running.progress)).toEqual({
      month: "2026-11",
      done: 3,
      of: 10,
      note: XSS.img,
    });
  });

  test("stored markup is escaped in arguments, results, progress, errors and stacks", async () => {
    const dashboard = createDashboard(queue);
    for (
      const id of [seeded.ids.xss, seeded.ids.xssResult, seeded.ids.running]
    ) {
      const body = await (await get(dashboard, `/tasks/${id}`)).text();
      expect(body).not.toContain("<script>window");
      expect(body).not.toContain("<img src=x");
      expect(body).toContain("&lt;img src=x onerror=");
    }
    const failed = await (await get(dashboard, `/tasks/${seeded.ids.xss}`))
      .text();
    expect(failed).toContain(
      "&lt;script&gt;window.__xss = &#39;script&#39;&lt;/script&gt;",
    );
  });

  test("unknown pages, tasks and assets are 404s", async () => {
    const dashboard = createDashboard(queue);
    expect((await get(dashboard, "/nope")).status).toBe(404);
    expect((await get(dashboard, "/tasks/999999")).status).toBe(404);
    expect((await get(dashboard, "/api/tasks/999999")).status).toBe(404);
    expect((await get(dashboard, "/assets/none.js")).status).toBe(404);
  });

  test("the chart library and the script are served from the package", async () => {
    const dashboard = createDashboard(queue);
    const uplot = await get(dashboard, "/assets/uplot.js");
    expect(uplot.headers.get("content-type")).toContain("javascript");
    expect(await uplot.text()).toContain("uPlot");
    expect(await (await get(dashboard, "/assets/dashboard.js")).text())
      .toContain("textContent");
  });

  test("under a prefix, only the prefix answers and links carry it", async () => {
    const dashboard = createDashboard(queue, { prefix: "/admin/queue/" });
    expect((await get(dashboard, "/")).status).toBe(404);
    expect((await get(dashboard, "/tasks")).status).toBe(404);
    const bare = await get(dashboard, "/admin/queue");
    expect(bare.status).toBe(303);
    expect(bare.headers.get("location")).toBe("/admin/queue/");
    const body = await (await get(dashboard, "/admin/queue/")).text();
    expect(body).toContain('href="/admin/queue/tasks"');
    expect(body).toContain('src="/admin/queue/assets/uplot.js"');
  });

  test("sitq's metrics by default, a function's text, or none", async () => {
    const own = await get(createDashboard(queue), "/metrics");
    expect(own.headers.get("content-type")).toContain("version=0.0.4");
    expect(await own.text()).toContain("# TYPE sitq_tasks gauge");
    expect(
      (await get(createDashboard(queue, { metrics: false }), "/metrics"))
        .status,
    ).toBe(404);
    expect(
      (await get(createDashboard(queue, { token: "t" }), "/metrics")).status,
    ).toBe(401);
    const dashboard = createDashboard(queue, { metrics: () => "sitq_up 1\n" });
    const response = await get(dashboard, "/metrics");
    expect(response.headers.get("content-type")).toContain("text/plain");
    expect(await response.text()).toBe("sitq_up 1\n");
  });

  test("invalid options are refused with the option's name", () => {
    expect(thrownBy(() => createDashboard(queue, { prefix: "admin" })))
      .toBeInstanceOf(TypeError);
    expect(String(thrownBy(() => createDashboard(queue, { token: "" }))))
      .toContain("'token'");
    expect(
      String(thrownBy(() => createDashboard(queue, { refreshInterval: 5 }))),
    ).toContain("'refreshInterval'");
    expect(
      String(thrownBy(() =>
        createDashboard(
          queue,
          { colour: "red" } as unknown as Parameters<typeof createDashboard>[1],
        )
      )),
    ).toContain("'colour'");
  });
});

/** Reads server-sent events from `response` until one is about `taskId`. */
async function eventAbout(
  response: Response,
  taskId: number,
): Promise<{ type: string; taskId: number; name: string; queue: string }> {
  const reader = response.body!.getReader();
  let text = "";
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) throw new Error(`the stream ended: ${text}`);
      text += new TextDecoder().decode(value);
      for (const line of text.split("\n")) {
        if (!line.startsWith("data: ")) continue;
        const event = JSON.parse(line.slice(6));
        if (event.taskId === taskId) return event;
      }
    }
  } finally {
    await reader.cancel();
  }
}

describe("events", () => {
  test("api/events pushes each change (Bun.serve and node:http)", async () => {
    const dashboard = createDashboard(queue, { token: "t" });
    const later = queue.task("dash-event", () => 1);
    using bun = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: dashboard });
    const node: Server = createServer(toNodeListener(dashboard));
    await new Promise<void>((resolve) => node.listen(0, "127.0.0.1", resolve));
    try {
      const auth = { authorization: "Bearer t" };
      for (
        const origin of [
          `http://127.0.0.1:${bun.port}`,
          `http://127.0.0.1:${(node.address() as AddressInfo).port}`,
        ]
      ) {
        expect((await fetch(`${origin}/api/events`)).status).toBe(401);
        const stream = await fetch(`${origin}/api/events`, { headers: auth });
        expect(stream.headers.get("content-type")).toContain(
          "text/event-stream",
        );
        // The answer comes once the subscription is registered.
        const id = await queue.enqueue(later.with({ delay: 3_600_000 }));
        expect(await eventAbout(stream, id)).toEqual({
          type: "enqueued",
          taskId: id,
          name: "dash-event",
          queue: "default",
        });
        await queue.cancel(id);
      }
    } finally {
      await new Promise((resolve) => node.close(resolve));
    }
  });
});

describe("queues and schedules", () => {
  test("the queues page shows each queue's counts; pause and resume act on it", async () => {
    const dashboard = createDashboard(queue, { actions: true });
    const body = await (await get(dashboard, "/queues")).text();
    expect(body).toContain('data-live="queue.billing.failed">1</a>');
    expect(body).toContain('data-live="queue.emails.completed">3</a>');
    const overview = await (await get(dashboard, "/")).text();
    expect(overview).toContain("By queue");
    const csrf = await csrfOf(dashboard, "/queues");
    const paused = await post(dashboard, "/actions/pause-queue", {
      queue: "billing",
      csrf,
      back: "queues",
    });
    expect(paused.headers.get("location")).toBe("/queues?notice=paused");
    expect((await queue.queues.get("billing")).paused).toBe(true);
    const queuesPage = await (await get(dashboard, "/queues")).text();
    const billingRow = queuesPage.slice(
      queuesPage.indexOf('href="/tasks?queue=billing"'),
    ).split("</tr>")[0]!;
    expect(billingRow).toContain('data-testid="resume-queue"');
    expect(billingRow).toContain("paused");
    await post(dashboard, "/actions/resume-queue", { queue: "billing", csrf });
    expect((await queue.queues.get("billing")).paused).toBe(false);
    // The list filters by queue.
    const billing = await (await get(dashboard, "/api/tasks?queue=billing"))
      .json() as { tasks: Array<{ id: number; queue: string }> };
    expect(billing.tasks.map((t) => t.id)).toEqual([seeded.ids.failed]);
  });

  test("the schedules page lists schedules; pause and resume act on them", async () => {
    const dashboard = createDashboard(queue, { actions: true });
    const body = await (await get(dashboard, "/schedules")).text();
    expect(body).toContain("nightly-cleanup");
    expect(body).toContain("0 3 * * *");
    expect(body).toContain("every 1 h");
    const csrf = await csrfOf(dashboard, "/schedules");
    await post(dashboard, "/actions/pause-schedule", {
      schedule: "nightly-cleanup",
      csrf,
    });
    expect((await queue.schedules.get("nightly-cleanup"))?.paused).toBe(true);
    await post(dashboard, "/actions/resume-schedule", {
      schedule: "nightly-cleanup",
      csrf,
    });
    expect((await queue.schedules.get("nightly-cleanup"))?.paused).toBe(false);
  });

  test("bulk retry queues every failed task of the filter again", async () => {
    const dashboard = createDashboard(queue, { actions: true });
    const list =
      await (await get(dashboard, "/tasks?status=failed&name=render-profile"))
        .text();
    expect(list).toContain('data-testid="bulk-retry"');
    const csrf = await csrfOf(dashboard, "/");
    const before = (await queue.getTask(seeded.ids.xss)).history.length;
    const response = await post(dashboard, "/actions/bulk-retry", {
      status: "failed",
      name: "render-profile",
      queue: "",
      csrf,
    });
    expect(response.headers.get("location")).toBe("/?notice=bulk-retried&n=1");
    // The worker runs it again; it fails again (one attempt allowed).
    await waitUntil(
      async () =>
        (await queue.getTask(seeded.ids.xss)).history.length === before + 1,
      "the bulk-retried task ran again",
    );
    await queue.waitForResult(seeded.ids.xss, { timeout: 20_000 });
  });
});

describe("actions", () => {
  test("read-only by default: an action is refused and changes nothing", async () => {
    const dashboard = createDashboard(queue);
    const page = await (await get(dashboard, `/tasks/${seeded.ids.failed}`))
      .text();
    expect(page).not.toContain('action="/actions/'); // no action forms at all
    const response = await post(dashboard, "/actions/retry", {
      id: String(seeded.ids.failed),
      csrf: "x",
    });
    expect(response.status).toBe(403);
    expect((await queue.getResult(seeded.ids.failed)).status).toBe("failed");
  });

  test("a cross-site post or one without the CSRF token is refused", async () => {
    const dashboard = createDashboard(queue, { actions: true });
    const csrf = await csrfOf(dashboard, `/tasks/${seeded.ids.cancelled}`);
    const fields = { id: String(seeded.ids.cancelled), csrf };
    expect(
      (await post(dashboard, "/actions/retry", fields, {
        origin: "https://evil.test",
      })).status,
    ).toBe(403);
    expect((await post(dashboard, "/actions/retry", fields, {})).status).toBe(
      403,
    );
    expect(
      (await post(dashboard, "/actions/retry", { id: fields.id }, {
        origin: ORIGIN,
      })).status,
    ).toBe(403);
    expect(
      (await post(dashboard, "/actions/retry", {
        ...fields,
        csrf: "0".repeat(48),
      })).status,
    ).toBe(403);
    expect((await queue.getResult(seeded.ids.cancelled)).status).toBe(
      "cancelled",
    );
  });

  test("cancel and retry from the same origin change the task and redirect back", async () => {
    const dashboard = createDashboard(queue, { actions: true });
    const id = await queue.enqueue(
      queue.task("dash-later", () => "later").with({ delay: 3_600_000 }),
    );
    const csrf = await csrfOf(dashboard, `/tasks/${id}`);
    const cancelled = await post(dashboard, "/actions/cancel", {
      id: String(id),
      csrf,
      back: `tasks/${id}`,
    });
    expect(cancelled.status).toBe(303);
    expect(cancelled.headers.get("location")).toBe(
      `/tasks/${id}?notice=cancelled`,
    );
    expect((await queue.getResult(id)).status).toBe("cancelled");
    const retried = await post(dashboard, "/actions/retry", {
      id: String(id),
      csrf,
      back: "//evil.test/x",
    }, {
      "sec-fetch-site": "same-origin",
    });
    expect(retried.headers.get("location")).toBe("/?notice=retried");
    expect((await queue.getResult(id)).status).toBe("queued");
    // Retrying a queued task is a conflict, shown as a page.
    const again = await post(dashboard, "/actions/retry", {
      id: String(id),
      csrf,
    });
    expect(again.status).toBe(409);
    expect(await again.text()).toContain("INVALID_STATE");
    await queue.cancel(id);
  });

  test("prune deletes old finished tasks and reports how many", async () => {
    const pruneDb = tempDbPath("prune.db");
    const own = closeLater(new TaskQueue(new SQLiteBackend(pruneDb)));
    const noop = own.task("noop", () => null);
    const id = await own.enqueue(noop.with({ delay: 3_600_000 }));
    await own.cancel(id);
    const dashboard = createDashboard(own, { actions: true });
    const csrf = await csrfOf(dashboard, "/");
    const response = await post(dashboard, "/actions/prune", {
      statuses: "completed,cancelled",
      hours: "0",
      csrf,
    });
    expect(response.headers.get("location")).toBe("/?notice=pruned&n=1");
    expect((await own.stats()).cancelled).toBe(0);
    const notice = await (await get(dashboard, "/?notice=pruned&n=1")).text();
    expect(notice).toContain("Deleted 1 finished task(s).");
  });
});

describe("bulk cancel and removing a schedule", () => {
  test("bulk cancel: offered and taken only with actions on, cancels what the filter selects", async () => {
    const own = closeLater(
      new TaskQueue(new SQLiteBackend(tempDbPath("bulk-cancel.db"))),
    );
    const later = own.task("later", () => null);
    const other = own.task("other", () => null);
    const ids = [
      await own.enqueue(later.with({ delay: 3_600_000 })),
      await own.enqueue(later.with({ delay: 3_600_000 })),
    ];
    const kept = await own.enqueue(other.with({ delay: 3_600_000 }));
    const auth = { authorization: "Bearer t" };
    const list = "/tasks?status=queued&name=later";
    // Read-only: no button, and the action is refused (the bearer header
    // passes the CSRF check, so the refusal is the read-only one).
    const readOnly = createDashboard(own, { token: "t" });
    expect(await (await get(readOnly, list, auth)).text()).not.toContain(
      'data-testid="bulk-cancel"',
    );
    const refused = await post(readOnly, "/actions/bulk-cancel", {
      status: "queued",
      name: "later",
    }, auth);
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain("read-only");
    expect((await own.stats()).queued).toBe(3);
    // With actions: the button, then every queued "later" task cancelled.
    const dashboard = createDashboard(own, { actions: true });
    const page = await (await get(dashboard, list)).text();
    expect(page).toContain('data-testid="bulk-cancel"');
    expect(page).toContain('data-confirm="Cancel every matching task?"');
    const csrf = await csrfOf(dashboard, list);
    const response = await post(dashboard, "/actions/bulk-cancel", {
      status: "queued",
      name: "later",
      queue: "",
      csrf,
    });
    expect(response.headers.get("location")).toBe(
      "/?notice=bulk-cancelled&n=2",
    );
    for (const id of ids) {
      expect((await own.getResult(id)).status).toBe("cancelled");
    }
    expect((await own.getResult(kept)).status).toBe("queued");
    const notice = await (await get(dashboard, "/?notice=bulk-cancelled&n=2"))
      .text();
    expect(notice).toContain("Cancelled 2 task(s).");
    // A final status is not something to cancel: 400, nothing changed.
    const bad = await post(dashboard, "/actions/bulk-cancel", {
      status: "completed",
      csrf,
    });
    expect(bad.status).toBe(400);
    expect((await own.getResult(kept)).status).toBe("queued");
    // A failed or cancelled filter offers retry, not cancel.
    const cancelledList =
      await (await get(dashboard, "/tasks?status=cancelled")).text();
    expect(cancelledList).toContain('data-testid="bulk-retry"');
    expect(cancelledList).not.toContain('data-testid="bulk-cancel"');
  });

  test("remove a schedule: offered and taken only with actions on; a missing one is a 404", async () => {
    const own = closeLater(
      new TaskQueue(new SQLiteBackend(tempDbPath("remove-schedule.db"))),
    );
    const sweep = own.task("sweep", (days: number) => days);
    await own.schedules.set("hourly-sweep", {
      task: sweep,
      args: [7],
      every: 3_600_000,
    });
    const auth = { authorization: "Bearer t" };
    const readOnly = createDashboard(own, { token: "t" });
    const shown = await (await get(readOnly, "/schedules", auth)).text();
    expect(shown).toContain("hourly-sweep");
    expect(shown).not.toContain('data-testid="remove-schedule"');
    const refused = await post(readOnly, "/actions/remove-schedule", {
      schedule: "hourly-sweep",
    }, auth);
    expect(refused.status).toBe(403);
    expect(await own.schedules.get("hourly-sweep")).toBeDefined();
    const dashboard = createDashboard(own, { actions: true });
    const page = await (await get(dashboard, "/schedules")).text();
    expect(page).toContain('data-testid="remove-schedule"');
    const csrf = await csrfOf(dashboard, "/schedules");
    const removed = await post(dashboard, "/actions/remove-schedule", {
      schedule: "hourly-sweep",
      csrf,
      back: "schedules",
    });
    expect(removed.headers.get("location")).toBe(
      "/schedules?notice=schedule-removed",
    );
    expect(await own.schedules.get("hourly-sweep")).toBeUndefined();
    const after =
      await (await get(dashboard, "/schedules?notice=schedule-removed"))
        .text();
    expect(after).toContain("Schedule removed.");
    expect(after).not.toContain("hourly-sweep");
    const again = await post(dashboard, "/actions/remove-schedule", {
      schedule: "hourly-sweep",
      csrf,
    });
    expect(again.status).toBe(404);
    expect(await again.text()).toContain("no schedule");
  });
});

describe("token", () => {
  test("without the token every page and endpoint is a 401, assets aside", async () => {
    const dashboard = createDashboard(queue, { token: "s3cret" });
    for (
      const path of [
        "/",
        "/tasks",
        `/tasks/${seeded.ids.failed}`,
        "/api/overview",
        "/workers",
      ]
    ) {
      const response = await get(dashboard, path);
      expect(response.status).toBe(401);
      expect(await response.text()).not.toContain("charge-card");
    }
    expect(
      (await get(dashboard, "/", { authorization: "Bearer wrong" })).status,
    ).toBe(401);
    expect((await get(dashboard, "/assets/dashboard.css")).status).toBe(200);
  });

  test("the bearer header opens everything, and may post actions without a form token", async () => {
    const dashboard = createDashboard(queue, {
      token: "s3cret",
      actions: true,
    });
    const auth = { authorization: "Bearer s3cret" };
    expect((await get(dashboard, "/", auth)).status).toBe(200);
    const id = await queue.enqueue(
      queue.task("dash-bearer", () => 1).with({ delay: 3_600_000 }),
    );
    const response = await post(dashboard, "/actions/cancel", {
      id: String(id),
    }, auth);
    expect(response.status).toBe(303);
    expect((await queue.getResult(id)).status).toBe("cancelled");
  });

  test("the login form sets a cookie that is not the token; a wrong token is refused", async () => {
    const dashboard = createDashboard(queue, { token: "s3cret" });
    const wrong = await post(dashboard, "/login", { token: "nope" });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get("set-cookie")).toBeNull();
    const crossSite = await post(dashboard, "/login", { token: "s3cret" }, {
      origin: "https://evil.test",
    });
    expect(crossSite.status).toBe(403);
    const login = await post(dashboard, "/login", { token: "s3cret" });
    expect(login.status).toBe(303);
    const cookie = login.headers.get("set-cookie") ?? "";
    expect(cookie).toContain("HttpOnly");
    expect(cookie).toContain("SameSite=Strict");
    expect(cookie).not.toContain("s3cret");
    const session = cookie.split(";")[0]!;
    expect((await get(dashboard, "/", { cookie: session })).status).toBe(200);
    // Another dashboard (another process) does not take this cookie.
    expect(
      (await get(createDashboard(queue, { token: "s3cret" }), "/", {
        cookie: session,
      })).status,
    ).toBe(401);
  });
});

describe("servers", () => {
  test("Bun.serve", async () => {
    using server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: createDashboard(queue, { prefix: "/q" }),
    });
    const response = await fetch(
      `http://127.0.0.1:${server.port}/q/tasks?status=failed`,
    );
    expect(response.status).toBe(200);
    expect(await response.text()).toContain("charge-card");
  });

  test("node:http through toNodeListener, a form post included", async () => {
    const dashboard = createDashboard(queue, { prefix: "/q", actions: true });
    const server: Server = createServer(toNodeListener(dashboard));
    await new Promise<void>((resolve) =>
      server.listen(0, "127.0.0.1", resolve)
    );
    try {
      const origin = `http://127.0.0.1:${
        (server.address() as AddressInfo).port
      }`;
      const page = await fetch(`${origin}/q/tasks/${seeded.ids.failed}`);
      expect(page.status).toBe(200);
      expect(page.headers.get("content-security-policy")).toBe(
        CONTENT_SECURITY_POLICY,
      );
      const text = await page.text();
      expect(text).toContain("card declined");
      const csrf = /name="csrf" value="([0-9a-f]+)"/.exec(text)![1]!;
      const id = await queue.enqueue(
        queue.task("dash-node", () => 1).with({ delay: 3_600_000 }),
      );
      const response = await fetch(`${origin}/q/actions/cancel`, {
        method: "POST",
        headers: { origin },
        body: new URLSearchParams({ id: String(id), csrf }),
        redirect: "manual",
      });
      expect(response.status).toBe(303);
      expect(response.headers.get("location")).toBe("/q/?notice=cancelled");
      expect((await queue.getResult(id)).status).toBe("cancelled");
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test("node:http on Node (the npm build), a form post included", async () => {
    await buildDist();
    const server = await startServer([
      BIN.node,
      "tests/fixtures/dashboard_node_server.mjs",
      dbPath,
    ]);
    try {
      const page = await fetch(`${server.origin}/dash/tasks/${seeded.ids.xss}`);
      expect(page.status).toBe(200);
      const text = await page.text();
      expect(text).toContain("&lt;script&gt;");
      expect(text).not.toContain(XSS.script);
      const csrf = /name="csrf" value="([0-9a-f]+)"/.exec(text)![1]!;
      expect(
        await (await fetch(`${server.origin}/dash/assets/uplot.js`)).text(),
      )
        .toContain("uPlot");
      const id = await queue.enqueue(
        queue.task("dash-on-node", () => 1).with({ delay: 3_600_000 }),
      );
      const response = await fetch(`${server.origin}/dash/actions/cancel`, {
        method: "POST",
        headers: { origin: server.origin },
        body: new URLSearchParams({ id: String(id), csrf }),
        redirect: "manual",
      });
      expect(response.status).toBe(303);
      expect((await queue.getResult(id)).status).toBe("cancelled");
    } finally {
      await server.stop();
    }
  }, 120_000);

  test("Deno.serve in a Deno process", async () => {
    const server = await startServer([
      BIN.deno,
      "run",
      "-A",
      "tests/fixtures/dashboard_deno_server.ts",
      dbPath,
    ]);
    try {
      const url = `${server.origin}/dash/api/overview`;
      expect((await fetch(url)).status).toBe(401);
      const auth = { authorization: "Bearer deno-token" };
      const overview = await (await fetch(url, { headers: auth })).json() as {
        stats: Record<string, number>;
      };
      expect(overview.stats.failed).toBe((await queue.stats()).failed);
      const page = await fetch(
        `${server.origin}/dash/tasks/${seeded.ids.xss}`,
        {
          headers: auth,
        },
      );
      const text = await page.text();
      expect(text).toContain("&lt;script&gt;");
      expect(text).not.toContain(XSS.script);
      expect(
        await (await fetch(`${server.origin}/dash/assets/uplot.js`)).text(),
      )
        .toContain("uPlot");
    } finally {
      await server.stop();
    }
  }, 60_000);
});
