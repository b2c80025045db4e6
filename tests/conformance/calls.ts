/**
 * The Backend calls the suite makes over and over, each checking the shape
 * of its answer, and reads that return plain objects (drivers may return
 * null-prototype rows, which strict deep equality tells apart).
 *
 * @module
 */
import assert from "node:assert/strict";
import type * as api from "../../lib/storage/backend.ts";
import { claimRequest, counts, newTask } from "./rows.ts";

/** Inserts one {@linkcode newTask} with `fields`; returns its id. */
export async function insertOne(
  backend: api.Backend,
  fields: Partial<api.NewTaskRow> = {},
): Promise<number> {
  const [id] = await backend.insertTasks([newTask(fields)]);
  assert.equal(typeof id, "number");
  return id!;
}

/** Claims with {@linkcode claimRequest} `fields`, settling nothing. */
export async function claim(
  backend: api.Backend,
  fields: Partial<api.ClaimRequest> = {},
): Promise<api.ClaimedTask[]> {
  const { applied, claimed } = await backend.settleAndClaim(
    [],
    claimRequest(fields),
  );
  assert.deepEqual(applied, []);
  return claimed;
}

/** Claims exactly one task (asserting so) and returns its fencing token. */
export async function claimOne(
  backend: api.Backend,
  fields: Partial<api.ClaimRequest> = {},
): Promise<api.FencingToken> {
  const claimed = await claim(backend, { limit: 1, ...fields });
  assert.equal(claimed.length, 1, "one task claimed");
  const workerId = fields.workerId ?? claimRequest().workerId;
  return { id: claimed[0]!.id, workerId, attempt: claimed[0]!.attempt };
}

/** Writes one settlement alone; returns whether the backend applied it. */
export async function settle(
  backend: api.Backend,
  settlement: api.Settlement,
): Promise<boolean> {
  const { applied, claimed } = await backend.settleAndClaim(
    [settlement],
    undefined,
  );
  assert.deepEqual(claimed, []);
  assert.equal(applied.length, 1);
  return applied[0]!;
}

/** Task `id` as a plain object (drivers may return null-prototype rows). */
export async function taskRow(
  backend: api.Backend,
  id: number,
): Promise<api.TaskRow> {
  const row = await backend.getTask(id);
  assert.ok(row !== undefined, `task ${id} exists`);
  return { ...row };
}

/** Task `id`'s attempt history, as plain objects. */
export async function attemptRows(
  backend: api.Backend,
  id: number,
): Promise<api.AttemptRow[]> {
  return (await backend.getAttempts(id)).map((row) => ({ ...row }));
}

/** `countByStatus()` with every status present, zeros included. */
export async function statusCounts(
  backend: api.Backend,
): Promise<Record<api.TaskRow["status"], number>> {
  return counts(await backend.countByStatus());
}
