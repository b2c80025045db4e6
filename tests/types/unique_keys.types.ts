/**
 * Compile-time tests of unique keys' typing, checked by
 * `tsc -p tsconfig.test.json` (never run). Every `@ts-expect-error` line must
 * be an error; tests/types.test.ts proves each one is, by stripping them.
 *
 * @module
 */
import {
  declareTask,
  DuplicateKeyError,
  type EnqueueManyOptions,
  type OnDuplicate,
  SQLiteBackend,
  type TaskId,
  TaskQueue,
  type UniqueEnqueueResult,
} from "../../mod.ts";

const queue = new TaskQueue(new SQLiteBackend(":memory:"));
const resize = queue.task(
  "resize",
  (path: string, width: number) => ({ path, width }),
);

// ---- enqueue with a key still returns an id --------------------------------

const id: TaskId<{ path: string; width: number }> = await queue.enqueue(
  resize.with({ uniqueKey: "cat.png" }),
  "cat.png",
  200,
);

// ---- enqueueUnique: the result, typed with the task's result ---------------

const result: UniqueEnqueueResult<{ path: string; width: number }> = await queue
  .enqueueUnique(
    resize.with({ uniqueKey: "cat.png", uniqueFor: 60_000 }),
    "cat.png",
    200,
  );
const created: boolean = result.created;
const replaced: boolean = result.replaced;
const holder: TaskId<{ path: string; width: number }> = result.id;
const done = await queue.waitForResult(result.id);
if (done.status === "completed") {
  const width: number = done.value.width;
  void width;
}
// @ts-expect-error the arguments are checked as for enqueue
await queue.enqueueUnique(resize.with({ uniqueKey: "k" }), "cat.png", "200");

// ---- options ---------------------------------------------------------------

const modes: OnDuplicate[] = ["keep", "replace", "error"];
// @ts-expect-error not a mode
resize.with({ uniqueKey: "k", onDuplicate: "ignore" });
// @ts-expect-error a key is a string
resize.with({ uniqueKey: 42 });
// @ts-expect-error a function key belongs to the bulk methods' options
resize.with({ uniqueKey: (path: string) => path });

// ---- bulk: a key per argument list, typed from the task's arguments ---------

const results: UniqueEnqueueResult<{ path: string; width: number }>[] =
  await queue.enqueueManyUnique(resize, [["a.png", 1], ["b.png", 2]], {
    uniqueKey: (path, width) => `${path}@${width.toFixed(0)}`,
  });
const ids: TaskId<{ path: string; width: number }>[] = await queue
  .enqueueMany(resize, [["a.png", 1]], { uniqueKey: (path) => path });
await queue.enqueueMany(resize, [["a.png", 1]], { uniqueKey: "one" });
await queue.enqueueManyUnique(resize, [["a.png", 1]], {
  // @ts-expect-error the key function takes the task's arguments
  uniqueKey: (path: number) => String(path),
});
await queue.enqueueManyUnique(resize, [["a.png", 1]], {
  // @ts-expect-error the key function returns a string
  uniqueKey: (path) => path.length,
});
const options: EnqueueManyOptions<[string, number]> = {
  uniqueKey: (path) => path,
  onDuplicate: "replace",
};
await queue.enqueueManyUnique(resize, [["a.png", 1]], options);

// ---- declarations and transactions -----------------------------------------

const email = declareTask<[to: string], void>("email");
queue.declare(email);
const sent: UniqueEnqueueResult<void> = await queue.enqueueUnique(
  email.with({ uniqueKey: "ada@example.com", onDuplicate: "error" }),
  "ada@example.com",
);

const backend = new SQLiteBackend(":memory:");
const other = new TaskQueue(backend);
const welcome = other.task("welcome", (userId: number) => userId);
const inTrx: UniqueEnqueueResult<number> = await backend.transaction(
  async (trx) =>
    await other.inTransaction(trx).enqueueUnique(
      welcome.with({ uniqueKey: "user:1" }),
      1,
    ),
);
const manyInTrx: UniqueEnqueueResult<number>[] = await backend.transaction(
  async (trx) =>
    await other.inTransaction(trx).enqueueManyUnique(welcome, [[1], [2]], {
      uniqueKey: (userId) => `user:${userId}`,
    }),
);

// ---- the error -------------------------------------------------------------

try {
  await queue.enqueue(
    resize.with({ uniqueKey: "k", onDuplicate: "error" }),
    "k",
    1,
  );
} catch (error) {
  if (error instanceof DuplicateKeyError) {
    const key: string = error.key;
    const holderId: number | undefined = error.holderId;
    const code: "DUPLICATE_KEY" | string = error.code;
    void [key, holderId, code];
  }
}

void [
  id,
  created,
  replaced,
  holder,
  modes,
  results,
  ids,
  sent,
  inTrx,
  manyInTrx,
];
await queue.close();
await other.close();
