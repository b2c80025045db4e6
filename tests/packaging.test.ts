/**
 * The npm package as TypeScript users consume it: the built declarations
 * resolve under every `moduleResolution` users still run, including the
 * older `"node"` (node10) mode of TypeScript 5, which reads only the
 * top-level `types` field and ignores `exports`.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanupTempDirs, ROOT, run, tempDir } from "./helpers.ts";
import { buildDist } from "./runtimes/matrix.ts";

beforeAll(() => buildDist(), 60_000);
afterAll(cleanupTempDirs);

const CONSUMER = `
import { SQLiteBackend, TaskQueue, type TaskResult } from "sitq";

const queue = new TaskQueue(new SQLiteBackend(":memory:"));
const add = queue.task("add", (a: number, b: number) => a + b);
export async function main(): Promise<TaskResult<number>> {
  const id = await queue.enqueue(add, 1, 2);
  return await queue.getResult(id);
}
// @ts-expect-error: a string where the handler takes a number
queue.enqueue(add, 1, "2");
`;

const COMPILERS = {
  "typescript 5": join(ROOT, "node_modules/typescript-5/bin/tsc"),
  "typescript 7": join(ROOT, "node_modules/.bin/tsc"),
};

test.each(
  [
    ["typescript 5", "commonjs", "node"],
    ["typescript 5", "node16", "node16"],
    ["typescript 5", "esnext", "bundler"],
    ["typescript 7", "nodenext", "nodenext"],
    ["typescript 7", "esnext", "bundler"],
  ] as const,
)(
  "%s finds sitq's types with module %s, moduleResolution %s",
  async (compiler, module, moduleResolution) => {
    const dir = tempDir();
    mkdirSync(join(dir, "node_modules"));
    symlinkSync(ROOT, join(dir, "node_modules/sitq"), "dir");
    writeFileSync(
      join(dir, "package.json"),
      JSON.stringify({ private: true, type: "module" }),
    );
    writeFileSync(join(dir, "consumer.ts"), CONSUMER);
    writeFileSync(
      join(dir, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          module,
          moduleResolution,
          target: "es2022",
          lib: ["es2022", "dom"],
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: [],
        },
        files: ["consumer.ts"],
      }),
    );
    const result = await run([COMPILERS[compiler], "-p", dir], { cwd: dir });
    expect(result.stdout + result.stderr).toBe("");
    expect(result.code).toBe(0);
  },
  60_000,
);
