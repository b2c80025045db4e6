/**
 * `sitq` as npm installs it: `node_modules/sitq` (here a link to this
 * repository) and `node_modules/.bin/sitq` linking to its `bin`
 * (dist/cli.js, made executable as npm does), run through `npx` and
 * `bunx` from a consumer directory: the shebang, the link and the
 * package's own dependencies must all resolve.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import {
  chmodSync,
  mkdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import {
  BIN,
  cleanup,
  newQueue,
  ROOT,
  run,
  tempDbPath,
  tempDir,
} from "./helpers.ts";
import { buildDist } from "./runtimes/matrix.ts";

beforeAll(() => buildDist(), 120_000);
afterAll(cleanup);

/** A consumer directory with sitq installed the way npm lays it out. */
function consumer(): string {
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
    bin: Record<string, string>;
  };
  expect(pkg.bin).toEqual({ sitq: "./dist/cli.js" });
  const dir = tempDir();
  mkdirSync(join(dir, "node_modules/.bin"), { recursive: true });
  writeFileSync(join(dir, "package.json"), JSON.stringify({ private: true }));
  symlinkSync(ROOT, join(dir, "node_modules/sitq"), "dir");
  symlinkSync("../sitq/dist/cli.js", join(dir, "node_modules/.bin/sitq"));
  chmodSync(join(ROOT, "dist/cli.js"), 0o755); // npm marks a bin executable
  expect(readFileSync(join(ROOT, "dist/cli.js"), "utf8")).toStartWith(
    "#!/usr/bin/env node\n",
  );
  return dir;
}

test("npx sitq and bunx sitq run the built command", async () => {
  const path = tempDbPath();
  const queue = newQueue({}, path);
  await queue.enqueue(queue.task("x", () => null));
  const dir = consumer();
  const env = {
    SITQ_DATABASE: path,
    PATH: `${join(ROOT, "node_modules/.bin")}:${process.env.PATH}`,
  };
  for (
    const command of [
      ["npx", "--no-install", "sitq", "stats", "--json"],
      [BIN.bun, "x", "sitq", "stats", "--json"],
    ]
  ) {
    const result = await run(command, { cwd: dir, env });
    expect(result.code, `${command.join(" ")}: ${result.stderr}`).toBe(0);
    expect(JSON.parse(result.stdout).statuses.queued).toBe(1);
  }
}, 120_000);
