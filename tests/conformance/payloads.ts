/**
 * Payloads: large and non-ASCII text comes back exactly as it went in, in
 * every text column (name, arguments, result, error, progress, worker id),
 * through the Backend and through the public API.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Suite } from "./harness.ts";
import * as calls from "./calls.ts";
import * as rows from "./rows.ts";
import { T0 } from "./rows.ts";

/**
 * Text from several scripts and planes: accents, combining marks, CJK,
 * right-to-left, emoji sequences (astral, zero-width joiners), and the line
 * and paragraph separators that trip up JSON and SQL quoting.
 */
const UNICODE =
  "résumé e\u0301 画像処理 مرحبا עִבְרִית 👩‍👩‍👧‍👦 🏳️‍🌈 𝔘𝔫𝔦 \u2028\u2029 ' \" \\ %_";

/** `UNICODE` repeated (with a counter) to at least `bytes` UTF-8 bytes. */
function bigText(bytes: number): string {
  const parts: string[] = [];
  let size = 0;
  for (let n = 0; size < bytes; n++) {
    const part = `${n}:${UNICODE}|`;
    parts.push(part);
    size += new TextEncoder().encode(part).length;
  }
  return parts.join("");
}

/** Registers the payload tests. */
export function payloadTests({ test }: Suite): void {
  test("non-ASCII text comes back exactly in every text column", async (t) => {
    const backend = t.backend();
    const name = `job ${UNICODE}`;
    const args = JSON.stringify([UNICODE, { [UNICODE]: UNICODE }]);
    const workerId = `wörker 🦀 ${process.pid}`;
    const id = await calls.insertOne(backend, { name, args });
    const token = await calls.claimOne(backend, { names: [name], workerId });
    const progress = JSON.stringify(UNICODE);
    assert.equal(await backend.saveProgress(token, progress), true);
    assert.equal((await calls.taskRow(backend, id)).progress, progress);
    const error = rows.storedError(UNICODE, `${UNICODE}Error`);
    assert.equal(
      await calls.settle(backend, rows.failed(token, T0, error)),
      true,
    );
    assert.equal((await calls.taskRow(backend, id)).error, error);
    const retry = await calls.claimOne(backend, { names: [name], workerId });
    const result = JSON.stringify({ text: UNICODE });
    assert.equal(
      await calls.settle(backend, rows.completed(retry, result)),
      true,
    );

    const row = await calls.taskRow(backend, id);
    assert.deepEqual(
      [row.name, row.args, row.result, row.worker_id],
      [name, args, result, workerId],
    );
    const history = await calls.attemptRows(backend, id);
    assert.deepEqual(
      history.map((a) => [a.worker_id, a.error]),
      [[workerId, error], [workerId, null]],
    );
    const listed = await backend.listTasks({ name, limit: 5 });
    assert.deepEqual(listed.map((task) => task.id), [id]);
    const byName = await backend.countByName();
    assert.deepEqual(byName.map((c) => c.name), [name]);
  });

  test("megabyte arguments, results, errors and progress come back whole", async (t) => {
    const backend = t.backend();
    const args = JSON.stringify([bigText(1 << 20)]);
    const progress = JSON.stringify(bigText(256 << 10));
    const error = rows.storedError(bigText(256 << 10));
    const result = JSON.stringify({ big: bigText(1 << 20) });
    const id = await calls.insertOne(backend, { args });
    const first = await calls.claimOne(backend);
    assert.equal(
      await calls.settle(backend, rows.failed(first, T0, error)),
      true,
    );
    assert.equal((await calls.taskRow(backend, id)).error, error);
    const [again] = await calls.claim(backend, { limit: 1 });
    assert.equal(again?.args, args, "the claim hands the arguments back");
    const second = { id, workerId: "w1", attempt: again!.attempt };
    assert.equal(await backend.saveProgress(second, progress), true);
    assert.equal(
      await calls.settle(backend, rows.completed(second, result)),
      true,
    );
    const row = await calls.taskRow(backend, id);
    assert.equal(row.args, args);
    assert.equal(row.result, result);
    assert.equal(row.progress, progress);
    assert.equal((await calls.attemptRows(backend, id))[0]?.error, error);
  });

  test("a queue and a worker on this backend carry a large, rich, non-ASCII payload through a task", async (t) => {
    const { TaskQueue, Worker } = t.sitq;
    const backend = t.backend();
    const queue = new TaskQueue(backend);
    const echo = queue.task(
      `echo ${UNICODE}`,
      (text: string, when: Date, tags: Map<string, number>) => ({
        text: `${text}!`,
        when,
        tags,
      }),
    );
    const text = bigText(512 << 10);
    const when = new Date(Date.UTC(2024, 1, 29, 12, 30));
    const tags = new Map([[UNICODE, 1], ["ascii", 2]]);
    const id = await queue.enqueue(echo, text, when, tags);
    const worker = new Worker(backend, { tasks: [echo], pollInterval: 20 });
    await worker.start();
    t.defer(() => worker.stop());
    assert.deepEqual(await queue.waitForResult(id, { timeout: 15_000 }), {
      status: "completed",
      value: { text: `${text}!`, when, tags },
      attempts: 1,
    });
  });
}
