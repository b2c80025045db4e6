/**
 * What the README and the `Serializer` docstring promise about round trips:
 * the refusal checks are `SuperJsonSerializer`'s, and a custom serializer
 * owns its round trip. sitq does not deep-compare every value after a round
 * trip (too costly per enqueue), so a JSON serializer's losses reach the
 * handler exactly as the docs describe them.
 */
import { afterAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { SerializationError } from "../mod.ts";
import { cleanup, newQueue, rejectionOf, ROOT } from "./helpers.ts";

afterAll(cleanup);

const json = {
  serialize: (value: unknown) => JSON.stringify(value),
  deserialize: (text: string) => JSON.parse(text),
};

test("a custom JSON serializer stores what JSON keeps, as documented", async () => {
  const queue = newQueue({ serializer: json });
  const task = queue.task("t", (..._args: unknown[]) => null);
  const id = await queue.enqueue(
    task,
    new Date(0),
    undefined,
    new Map([[1, 2]]),
  );
  expect((await queue.getTask(id)).args).toEqual([
    "1970-01-01T00:00:00.000Z",
    null,
    {},
  ]);
});

test("the default serializer refuses what would not come back", async () => {
  const queue = newQueue();
  const task = queue.task("t", (..._args: unknown[]) => null);
  const error = await rejectionOf(queue.enqueue(task, [1, , 3]));
  expect(error).toBeInstanceOf(SerializationError);
});

test("README and the Serializer docstring say a custom serializer owns its round trip", () => {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const docs = readFileSync(join(ROOT, "lib/core/serializer.ts"), "utf8");
  expect(readme).toContain("A custom serializer owns its round trip");
  expect(docs).toContain("a custom serializer owns its round trip");
});
