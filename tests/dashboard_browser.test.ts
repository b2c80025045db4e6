/**
 * The dashboard in a real browser (Debian's Chromium through
 * playwright-core) on a real server (Bun.serve) over a real SQLite file with
 * tasks in every status, and once over the tests' PostgreSQL server: the
 * overview and its chart, a filtered list, a task's page, actions that change
 * the database, live updates without reloading, the token, and stored markup
 * shown as text with no script run. Screenshots go to test-output/dashboard/
 * (each path is printed).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Browser, Page } from "playwright-core";
import { SQLiteBackend, TaskQueue } from "../mod.ts";
import { createDashboard, type DashboardOptions } from "../dashboard.ts";
import { cleanup, closeLater, tempDbPath, waitUntil } from "./helpers.ts";
import {
  describeBrowser,
  screenshot,
  SCREENSHOTS,
} from "./support/dashboard_browser.ts";
import { type History, seedHistory } from "./support/dashboard_history.ts";
import { type Seeded, seedEveryStatus, XSS } from "./support/dashboard_seed.ts";
import { describePostgres, postgresQueue } from "./support/postgres_tests.ts";

console.log(`dashboard screenshots are saved in ${SCREENSHOTS}`);

/** A hang guard for one browser test (several page loads and waits). */
const TIMEOUT = 60_000;

/** A dashboard on Bun.serve; stopped by cleanup(). */
function serve(queue: TaskQueue, options: DashboardOptions): string {
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: createDashboard(queue, { refreshInterval: 250, ...options }),
  });
  closeLater({ close: () => server.stop(true) });
  return `http://127.0.0.1:${server.port}${options.prefix ?? ""}/`;
}

/** A page that fails the test on any script error. */
async function newPage(browser: Browser): Promise<Page> {
  const context = await browser.newContext({
    viewport: { width: 1280, height: 860 },
  });
  closeLater({ close: () => context.close() });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  closeLater({
    close: () => {
      if (errors.length > 0) {
        throw new Error(`script errors: ${errors.join("; ")}`);
      }
    },
  });
  // Prune, cancel and bulk retry ask first.
  page.on("dialog", (dialog) => dialog.accept());
  return page;
}

async function count(page: Page, status: string): Promise<number> {
  return Number(
    await page.textContent(`[data-testid=card-${status}] .card-count`),
  );
}

describeBrowser("dashboard in Chromium (SQLite)", (browser) => {
  let queue: TaskQueue;
  let seeded: Seeded;
  let base: string;
  let history: History;

  beforeAll(async () => {
    const path = tempDbPath();
    history = await seedHistory(path);
    queue = closeLater(new TaskQueue(new SQLiteBackend(path)));
    seeded = await seedEveryStatus(queue);
    closeLater({
      close: async () => {
        seeded.release();
        await seeded.stop();
      },
    });
    base = serve(queue, { prefix: "/admin/queue", actions: true });
  }, 60_000);

  afterAll(() => cleanup());

  test("overview → failed tasks → filter → task page → retry", async () => {
    const page = await newPage(browser());
    await page.goto(base);
    const stats = await queue.stats();
    for (const [status, n] of Object.entries(stats)) {
      expect(await count(page, status)).toBe(n);
    }
    // uPlot drew the chart (a canvas inside its root) from the hour's
    // finished tasks: the history's, the seed's 4 completed and 2 failed.
    await page.waitForSelector("#chart .uplot canvas");
    const series = await page.evaluate(async () => {
      const t = await (await fetch("api/throughput")).json();
      const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
      return {
        completed: sum(t.completed),
        failed: sum(t.failed),
        busyMinutes: t.completed.filter((n: number) => n > 0).length,
      };
    });
    expect(series.completed).toBe(history.completed + 4);
    expect(series.failed).toBe(history.failed + 2);
    expect(series.busyMinutes).toBeGreaterThanOrEqual(12);
    expect(await page.textContent("[data-testid=by-name]")).toContain(
      "charge-card",
    );
    await screenshot(page, "overview");

    await page.click("[data-testid=card-failed]");
    await page.waitForURL(/\/tasks\?status=failed$/);
    expect(await page.locator("[data-testid=task-list] tbody tr").count()).toBe(
      stats.failed,
    );

    await page.fill("[data-testid=filter-name]", "charge-card");
    await page.click("[data-testid=apply-filter]");
    await page.waitForURL(/name=charge-card/);
    const rows = page.locator("[data-testid=task-list] tbody tr");
    expect(await rows.count()).toBe(1);
    await screenshot(page, "list-filtered");

    await rows.first().locator("a").click();
    await page.waitForURL(new RegExp(`/tasks/${seeded.ids.failed}$`));
    expect(await page.textContent("[data-testid=error]")).toContain(
      "card declined for cus_42 (1999 cents)",
    );
    expect(await page.locator("[data-testid=attempt]").count()).toBe(2);
    expect(await page.textContent("[data-testid=args]")).toContain('"cus_42"');
    await screenshot(page, "task-failed");

    const before = (await queue.getTask(seeded.ids.failed)).history.length;
    await page.click("[data-testid=retry]");
    await page.waitForSelector(".notice");
    expect(await page.textContent(".notice")).toBe("Task queued again.");
    // The worker runs it again (and it fails twice again): two more attempts.
    await waitUntil(
      async () =>
        (await queue.getTask(seeded.ids.failed)).history.length === before + 2,
      "the retried task ran twice more",
    );
    expect((await queue.getResult(seeded.ids.failed)).status).toBe("failed");
  }, TIMEOUT);

  test(
    "a task's page: progress of a running task, cancel of a queued one",
    async () => {
      const page = await newPage(browser());
      await page.goto(`${base}tasks/${seeded.ids.running}`);
      expect(await page.textContent("[data-testid=progress]")).toContain(
        '"done": 3',
      );
      await screenshot(page, "task-running");
      const id = await queue.enqueue(
        queue.task("dash-cancel-me", () => 1).with({ delay: 3_600_000 }),
      );
      await page.goto(`${base}tasks/${id}`);
      await page.click("[data-testid=cancel]");
      await page.waitForSelector(".notice");
      expect((await queue.getResult(id)).status).toBe("cancelled");
      expect(await page.textContent("h1")).toContain("cancelled");
    },
    TIMEOUT,
  );

  test(
    "live updates: new tasks and changed counts show without a reload",
    async () => {
      const page = await newPage(browser());
      await page.goto(`${base}tasks?status=queued`);
      // A page that reloads loses this mark.
      await page.evaluate(
        () => ((window as unknown as { __mark: number }).__mark = 1),
      );
      const later = queue.task("live-arrival", () => 1);
      const id = await queue.enqueue(later.with({ delay: 3_600_000 }));
      await page.waitForSelector(
        `[data-testid=task-list] tbody tr[data-id="${id}"]`,
      );
      expect(await page.textContent(`tr[data-id="${id}"]`)).toContain(
        "live-arrival",
      );

      await page.goto(base);
      await page.evaluate(
        () => ((window as unknown as { __mark: number }).__mark = 1),
      );
      const queued = await count(page, "queued");
      // A name the page has no row for yet: a row appears.
      const newcomer = queue.task("live-newcomer", () => 1);
      await queue.enqueue(newcomer.with({ delay: 3_600_000 }));
      await page.waitForFunction(
        (n) =>
          document.querySelector("[data-testid=card-queued] .card-count")
            ?.textContent === String(n),
        queued + 1,
      );
      await page.waitForSelector(
        '[data-testid=by-name] [data-live="name.live-newcomer.queued"]',
      );
      expect(
        await page.textContent(
          '[data-testid=by-name] [data-live="name.live-newcomer.queued"]',
        ),
      ).toBe("1");
      expect(
        await page.evaluate(() =>
          (window as unknown as { __mark?: number }).__mark
        ),
      ).toBe(1);

      // A task's page follows its task: cancelled from here, shown there.
      await page.goto(`${base}tasks/${id}`);
      await page.evaluate(
        () => ((window as unknown as { __mark: number }).__mark = 1),
      );
      await queue.cancel(id);
      await page.waitForSelector("h1 .badge[data-status=cancelled]");
      expect(
        await page.evaluate(() =>
          (window as unknown as { __mark?: number }).__mark
        ),
      ).toBe(1);
    },
    TIMEOUT,
  );

  test(
    "pushed updates: with polling every 10 minutes, changes still show",
    async () => {
      const pushed = serve(queue, {
        prefix: "/pushed",
        refreshInterval: 600_000,
      });
      const page = await newPage(browser());
      await page.goto(`${pushed}tasks`);
      await page.waitForFunction(() =>
        document.getElementById("live")?.className === "live"
      );
      const pushedTask = queue.task("pushed-arrival", () => 1);
      const id = await queue.enqueue(pushedTask.with({ delay: 3_600_000 }));
      await page.waitForSelector(`[data-testid=task-list] tr[data-id="${id}"]`);
      await page.goto(`${pushed}tasks/${id}`);
      await queue.cancel(id);
      await page.waitForSelector("h1 .badge[data-status=cancelled]");
    },
    TIMEOUT,
  );

  test("stored markup shows as text and runs no script", async () => {
    const page = await newPage(browser());
    for (
      const id of [seeded.ids.xss, seeded.ids.xssResult, seeded.ids.running]
    ) {
      await page.goto(`${base}tasks/${id}`);
      // Live polling swaps in fresh content: let it run a few times.
      await page.waitForTimeout(800);
      expect(
        await page.evaluate(() =>
          (window as unknown as { __xss?: unknown }).__xss
        ),
      ).toBeUndefined();
      expect(await page.locator("main img").count()).toBe(0);
      expect(await page.locator("main script").count()).toBe(0);
    }
    await page.goto(`${base}tasks/${seeded.ids.xss}`);
    expect(await page.textContent("[data-testid=args]")).toContain(XSS.script);
    expect(await page.textContent("[data-testid=error] .message")).toContain(
      XSS.img,
    );
    await screenshot(page, "task-xss");
    await page.goto(`${base}tasks/${seeded.ids.xssResult}`);
    expect(await page.textContent("[data-testid=result]")).toContain(
      XSS.script,
    );
    await page.goto(`${base}tasks?name=echo-html`);
    await page.waitForTimeout(600);
    expect(
      await page.evaluate(() =>
        (window as unknown as { __xss?: unknown }).__xss
      ),
    ).toBeUndefined();
  }, TIMEOUT);

  test("queues and schedules: pause a queue from its page", async () => {
    const page = await newPage(browser());
    await page.goto(base);
    await page.click("nav >> text=Queues");
    await page.waitForSelector("[data-testid=queues]");
    const billing = page.locator("[data-testid=queues] tr", {
      hasText: "billing",
    });
    await billing.locator("[data-testid=pause-queue]").click();
    await page.waitForSelector(".notice");
    expect((await queue.queues.get("billing")).paused).toBe(true);
    expect(await billing.textContent()).toContain("paused");
    await screenshot(page, "queues");
    await billing.locator("[data-testid=resume-queue]").click();
    await page.waitForSelector(".notice");
    expect((await queue.queues.get("billing")).paused).toBe(false);

    await page.click("nav >> text=Schedules");
    await page.waitForSelector("[data-testid=schedules]");
    expect(await page.textContent("[data-testid=schedules]")).toContain(
      "0 3 * * *",
    );
    await screenshot(page, "schedules");
  }, TIMEOUT);

  test(
    "the token: a login form, a wrong token refused, then the pages",
    async () => {
      const guarded = serve(queue, {
        token: "open sesame",
        prefix: "/private",
      });
      const page = await newPage(browser());
      const response = await page.goto(guarded);
      expect(response?.status()).toBe(401);
      expect(await page.content()).not.toContain("charge-card");
      await page.click("[data-testid=go-login]");
      await page.fill("[data-testid=token]", "wrong");
      await page.click("[data-testid=login]");
      expect(await page.textContent("[data-testid=login-error]")).toContain(
        "not right",
      );
      await page.fill("[data-testid=token]", "open sesame");
      await page.click("[data-testid=login]");
      await page.waitForSelector("[data-testid=card-failed]");
      expect(await page.textContent("[data-testid=by-name]")).toContain(
        "charge-card",
      );
      // The JSON the page polls is open to the cookie, closed without it.
      const api = await page.evaluate(async () =>
        (await fetch("api/overview")).status
      );
      expect(api).toBe(200);
      expect((await fetch(`${guarded}api/overview`)).status).toBe(401);
    },
    TIMEOUT,
  );
});

await describePostgres("dashboard in Chromium (PostgreSQL)", (url) => {
  describeBrowser("PostgreSQL", (browser) => {
    afterAll(() => cleanup());

    test("overview, list, task page and a retry on PostgreSQL", async () => {
      const { queue } = postgresQueue(url);
      const seeded = await seedEveryStatus(queue);
      closeLater({
        close: async () => {
          seeded.release();
          await seeded.stop();
        },
      });
      const base = serve(queue, { actions: true });
      const page = await newPage(browser());
      await page.goto(base);
      for (const [status, n] of Object.entries(await queue.stats())) {
        expect(await count(page, status)).toBe(n);
      }
      await page.click("[data-testid=card-failed]");
      await page.locator(`tr[data-id="${seeded.ids.xss}"] a`).click();
      expect(await page.textContent("[data-testid=args]")).toContain(
        XSS.script,
      );
      expect(
        await page.evaluate(() =>
          (window as unknown as { __xss?: unknown }).__xss
        ),
      ).toBeUndefined();
      await screenshot(page, "postgres-task");
      await page.click("[data-testid=retry]");
      await page.waitForSelector(".notice");
      await waitUntil(
        async () => (await queue.getTask(seeded.ids.xss)).history.length === 2,
        "the retried task ran again",
      );
    }, TIMEOUT);
  });
});
