/**
 * Every TypeScript block in README.md runs as written: each is extracted to
 * its own file, type-checked and run with Deno (which resolves `"sitq"`
 * through deno.json's import map to the sources) in an empty directory, and
 * must exit 0 by itself. A block that needs a name must import or define it.
 *
 * The blocks are type-checked together, by one `deno check` of every file
 * (one program loads the types once: about 5 s, where a `--check` per block
 * took about 6 s each under CI's load), and each block's test fails on the
 * errors in its own file, or on a check that failed without naming a file.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BIN, cleanupTempDirs, ROOT, run, tempDir } from "./helpers.ts";
import { testPostgres } from "./support/postgres_server.ts";

afterAll(cleanupTempDirs);

/** The ```ts blocks of `markdown`, with the line each starts on. */
export function typescriptBlocks(
  markdown: string,
): Array<{ line: number; code: string }> {
  const blocks: Array<{ line: number; code: string }> = [];
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.trim() !== "```ts") continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && lines[end]!.trim() !== "```") end++;
    blocks.push({ line: start + 1, code: lines.slice(start, end).join("\n") });
    i = end;
  }
  return blocks;
}

const README = readFileSync(join(ROOT, "README.md"), "utf8");
const BLOCKS = typescriptBlocks(README);
// Under the repository, so that Deno finds deno.json (and its import map).
const BLOCK_DIR = join(ROOT, ".tmp/readme");

test("README.md has TypeScript blocks to run", () => {
  expect(BLOCKS.length).toBeGreaterThan(5);
});

/** Where block `block` is written. */
function blockFile(block: { line: number; code: string }): string {
  // A block that starts `// <name>.ts: ...` is written under that name, so
  // that a later block can import it (a thread task's module).
  const named = /^\/\/ ([\w-]+\.ts):/.exec(block.code)?.[1];
  return join(BLOCK_DIR, named ?? `line_${block.line}.ts`);
}

/**
 * What the one `deno check` of every block printed, and whether it failed
 * without naming any block's file (then every block's test fails).
 */
let check: { output: string; unattributed: boolean };

beforeAll(async () => {
  mkdirSync(BLOCK_DIR, { recursive: true });
  const files = BLOCKS.map((block) => {
    const file = blockFile(block);
    writeFileSync(file, block.code + "\n");
    return file;
  });
  const result = await run(
    [BIN.deno, "check", "--config", join(ROOT, "deno.json"), ...files],
    { timeout: 120_000, env: { NO_COLOR: "1" } },
  );
  const output = result.stdout + result.stderr;
  check = { output, unattributed: false };
  check.unattributed = result.code !== 0 &&
    !files.some((file) => checkErrorsOf(file).length > 0);
}, 130_000);

/** The check's errors that name `file` (Deno prints `at file:///…:L:C`). */
function checkErrorsOf(file: string): string[] {
  return check.output.split(/\n(?=\S*(?:TS\d+ )?\[ERROR\]|error:)/)
    .filter((part) => part.includes(`${file}:`));
}

test.each(BLOCKS.map((block) => [block.line, block] as const))(
  "README.md block at line %d type-checks and runs",
  async (line, block) => {
    const file = blockFile(block);
    expect(checkErrorsOf(file)).toEqual([]);
    if (check.unattributed) {
      throw new Error(
        `deno check failed without naming a block:\n${check.output}`,
      );
    }
    // The PostgreSQL blocks read DATABASE_URL: the test server's.
    const env: Record<string, string> = {};
    if (block.code.includes('"sitq/postgres"')) {
      const postgres = await testPostgres();
      if (postgres.url === undefined) {
        console.warn(
          `README block at line ${line} not run: ${postgres.reason}`,
        );
        return;
      }
      env.DATABASE_URL = postgres.url;
    }
    const result = await run(
      [
        BIN.deno,
        "run",
        "--no-check",
        "-A",
        "--config",
        join(ROOT, "deno.json"),
        file,
      ],
      { cwd: tempDir(), timeout: 60_000, env },
    );
    expect(
      { code: result.code, stderr: result.code === 0 ? "" : result.stderr },
    ).toEqual({ code: 0, stderr: "" });
  },
  90_000,
);
