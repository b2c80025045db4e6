/**
 * When push wake-ups are unavailable (the write watch of the wake-up path in
 * lib/storage/change_feed.ts cannot start, or stops and cannot restart), a
 * backend says so once, with a `notice` change, and keeps finding other
 * connections' commits by polling.
 *
 * The watch is made to fail for real: the database is opened through a
 * symlinked directory that is then removed, so the open handles keep
 * working while the `-wal` file can no longer be found by its path.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, renameSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { type Logger, SQLiteBackend, TaskQueue, Worker } from "../mod.ts";
import type { BackendChange } from "../backend.ts";
import { newTask } from "./conformance/rows.ts";
import { cleanup, closeLater, tempDir, waitUntil } from "./helpers.ts";

afterAll(cleanup);

/** A database in a real directory, and the same file through a symlink. */
function linkedDatabase(): { real: string; linked: string; link: string } {
  const dir = tempDir();
  mkdirSync(join(dir, "real"));
  const link = join(dir, "link");
  symlinkSync(join(dir, "real"), link, "dir");
  return {
    real: join(dir, "real", "tasks.db"),
    linked: join(link, "tasks.db"),
    link,
  };
}

function listen(backend: SQLiteBackend): BackendChange[] {
  const seen: BackendChange[] = [];
  backend.subscribe((change) => seen.push(change));
  return seen;
}

type Notice = Extract<BackendChange, { type: "notice" }>;
const notices = (seen: readonly BackendChange[]) =>
  seen.filter((change): change is Notice => change.type === "notice");
const externals = (seen: readonly BackendChange[]) =>
  seen.filter((change) => change.type === "external").length;

/**
 * Has `writer` commit until `seen` holds `count` more `external` changes
 * than now: proof that the feed kept probing (and, with the count, that it
 * had every chance to say something twice).
 */
async function commitsSeen(
  writer: SQLiteBackend,
  seen: readonly BackendChange[],
  count: number,
): Promise<void> {
  const target = externals(seen) + count;
  await waitUntil(async () => {
    await writer.insertTasks([newTask()]);
    return externals(seen) >= target;
  }, `${count} commits of another connection seen by polling`);
}

describe("the PUSH_UNAVAILABLE notice", () => {
  test("a backend whose write watch cannot start tells its subscribers once, and keeps polling", async () => {
    const { real, linked, link } = linkedDatabase();
    const backend = closeLater(
      new SQLiteBackend(linked, { changePollInterval: 10 }),
    );
    await backend.open();
    // The directory's path goes away; the open database does not.
    rmSync(link);
    const seen = listen(backend);
    await waitUntil(() => notices(seen).length > 0, "a notice");
    const writer = closeLater(new SQLiteBackend(real));
    await commitsSeen(writer, seen, 5);

    expect(notices(seen)).toEqual([{
      type: "notice",
      code: "PUSH_UNAVAILABLE",
      message: expect.stringContaining(
        `Push wake-ups are unavailable for SQLite "${linked}"`,
      ),
    }]);
    // A later subscriber is not told again: once per backend.
    const later = listen(backend);
    await commitsSeen(writer, later, 2);
    expect(notices(later)).toEqual([]);
    expect(notices(seen)).toHaveLength(1);
  });

  test("a backend whose write watch stops and cannot restart tells its subscribers once", async () => {
    const { real, linked, link } = linkedDatabase();
    const backend = closeLater(
      new SQLiteBackend(linked, { changePollInterval: 10 }),
    );
    const seen = listen(backend);
    // The first probe reports a change, and the watch starts right after it.
    await waitUntil(() => externals(seen) > 0, "the first probe");
    const writer = closeLater(new SQLiteBackend(real));
    await commitsSeen(writer, seen, 2);
    expect(notices(seen)).toEqual([]);

    // Moving the log away and back ends the watch (its file was replaced);
    // with the directory's path gone, it cannot start again.
    rmSync(link);
    const wal = `${real}-wal`;
    renameSync(wal, `${wal}.moved`);
    renameSync(`${wal}.moved`, wal);
    await waitUntil(() => notices(seen).length > 0, "a notice");
    await commitsSeen(writer, seen, 5);
    expect(notices(seen)).toHaveLength(1);
    expect(notices(seen)[0]).toMatchObject({ code: "PUSH_UNAVAILABLE" });
  });

  test("a worker logs the notice once, as a warning that names the backend", async () => {
    const { real, linked, link } = linkedDatabase();
    const backend = new SQLiteBackend(linked, { changePollInterval: 10 });
    const queue = closeLater(new TaskQueue(backend));
    const noop = queue.task("noop", () => {});
    await backend.open();
    rmSync(link);
    const warnings: Parameters<NonNullable<Logger["warn"]>>[] = [];
    const seen = listen(backend);
    const worker = new Worker(backend, {
      tasks: [noop],
      logger: { warn: (...args) => warnings.push(args) },
    });
    await worker.start();
    closeLater({ close: () => worker.stop() });
    await waitUntil(() => notices(seen).length > 0, "a notice");
    await commitsSeen(closeLater(new SQLiteBackend(real)), seen, 5);

    expect(warnings).toEqual([[
      { backend: `SQLite "${linked}"` },
      notices(seen)[0]!.message,
    ]]);
  });
});
