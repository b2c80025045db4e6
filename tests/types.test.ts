/**
 * The compile-time tests in tests/types/ (and the examples, which the same
 * config includes) pass `tsc -p tsconfig.test.json`,
 * and each of their `@ts-expect-error` lines is a real error: with the
 * directives stripped, tsc reports errors on exactly those lines and no
 * others. Without the second check a directive on a line that compiles anyway
 * would only be caught as "unused"; with it, every line's error is proven.
 */
import { afterAll, describe, expect, test } from "bun:test";
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { ROOT, run } from "./helpers.ts";

const TSC = join(ROOT, "node_modules/.bin/tsc");
const TYPES_DIR = join(ROOT, "tests/types");
const DIRECTIVE = /^\s*\/\/ @ts-expect-error\b/;
const files = readdirSync(TYPES_DIR).filter((name) => name.endsWith(".ts"));

// The stripped copies live at the same depth as tests/types/ (in the
// git-ignored .tmp/), so their relative imports and node_modules lookups
// resolve exactly like the originals'.
mkdirSync(join(ROOT, ".tmp"), { recursive: true });
const scratch = mkdtempSync(join(ROOT, ".tmp/types-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

// A tsc run takes seconds, more on a loaded 2-core machine; a hang guard,
// not a speed claim.
const TSC_TIMEOUT = 60_000;

/** Line numbers (from 1) of tsc errors in `file`, from tsc's output. */
function errorLines(output: string, file: string): number[] {
  const lines = new Set<number>();
  const pattern = /^(.+?)\((\d+),\d+\): error TS\d+/gm;
  for (const match of output.matchAll(pattern)) {
    if (match[1]!.endsWith(file)) lines.add(Number(match[2]));
  }
  return [...lines].sort((a, b) => a - b);
}

test("tsc -p tsconfig.test.json passes", async () => {
  const result = await run([TSC, "-p", "tsconfig.test.json"]);
  expect(result.stdout + result.stderr).toBe("");
  expect(result.code).toBe(0);
}, TSC_TIMEOUT);

describe("every @ts-expect-error line is an error", () => {
  test("there are type test files", () => {
    expect(files.length).toBeGreaterThan(0);
  });

  for (const file of files) {
    test(file, async () => {
      const source = readFileSync(join(TYPES_DIR, file), "utf8").split("\n");
      const expected: number[] = [];
      // Blank the directive rather than delete it, so line numbers hold.
      const stripped = source.map((line, index) => {
        if (!DIRECTIVE.test(line)) return line;
        expected.push(index + 2); // the line after it, counted from 1
        return "";
      });
      expect(expected.length).toBeGreaterThan(0);
      writeFileSync(join(scratch, file), stripped.join("\n"));
      writeFileSync(
        join(scratch, "tsconfig.json"),
        JSON.stringify({
          extends: "../../tsconfig.test.json",
          include: [file],
        }),
      );

      const result = await run([TSC, "-p", join(scratch, "tsconfig.json")]);
      expect(result.code).not.toBe(0);
      expect(errorLines(result.stdout, file)).toEqual(expected);
    }, TSC_TIMEOUT);
  }
});
