/**
 * Chromium for the dashboard tests: Debian's `chromium` package (installed
 * by .ci/run) driven by playwright-core, whose own browser download does not
 * work on these machines. {@linkcode describeBrowser} registers a group of
 * tests with a launched browser; without chromium the group is skipped with
 * the reason printed, and under `CI=true` it is one failing test instead.
 *
 * @module
 */
import { afterAll, beforeAll, describe, test } from "bun:test";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { ROOT } from "../helpers.ts";

/** The browser binary: SITQ_CHROMIUM, or Debian's. */
export const CHROMIUM: string = process.env.SITQ_CHROMIUM ??
  "/usr/bin/chromium";

/** Where the dashboard tests save their screenshots. */
export const SCREENSHOTS: string = join(ROOT, "test-output/dashboard");

/**
 * Registers `body`'s tests under `title` with a Chromium launched in
 * `beforeAll` (`browser()` returns it) and closed in `afterAll`.
 */
export function describeBrowser(
  title: string,
  body: (browser: () => Browser) => void,
): void {
  if (!existsSync(CHROMIUM)) {
    const reason =
      `${CHROMIUM} is missing (apt-get install chromium, or set SITQ_CHROMIUM)`;
    if (process.env.CI === "true") {
      test(`${title}: Chromium`, () => {
        throw new Error(`CI=true: ${reason}`);
      });
      return;
    }
    console.warn(`Browser tests skipped (${title}): ${reason}`);
    describe.skip(`${title} (skipped: ${reason})`, () => {
      body(() => {
        throw new Error(reason);
      });
    });
    return;
  }
  describe(title, () => {
    let launched: Browser | undefined;
    beforeAll(async () => {
      mkdirSync(SCREENSHOTS, { recursive: true });
      launched = await chromium.launch({ executablePath: CHROMIUM });
    }, 60_000);
    afterAll(async () => {
      await launched?.close();
    });
    body(() => {
      if (launched === undefined) throw new Error("Chromium did not start");
      return launched;
    });
  });
}

/** Saves a full-page screenshot as `<name>.png` and prints its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  console.log(`dashboard screenshot: ${path}`);
  return path;
}
