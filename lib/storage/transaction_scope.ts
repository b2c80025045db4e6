/**
 * Which backend's `transaction(fn)` the current async call chain runs
 * inside, so that a call that would wait for that very transaction fails
 * at once instead of hanging.
 *
 * Inside `backend.transaction(fn)` the backend's write lock is held, and on
 * SQLite its one connection is too: a plain `queue.enqueue` (which takes
 * the lock) or a read (which needs the connection) awaited inside `fn`
 * would wait for `fn` to end, forever. Calls from elsewhere (a worker, a
 * request handler) are not inside the scope and simply wait their turn.
 *
 * @module
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { InvalidStateError } from "../core/errors.ts";

const scope = new AsyncLocalStorage<object>();

/** Runs `fn` marked as inside `owner`'s transaction. */
export function runInTransactionScope<T>(
  owner: object,
  fn: () => Promise<T>,
): Promise<T> {
  return scope.run(owner, fn);
}

/**
 * Throws if the caller runs inside `owner`'s `transaction(fn)`.
 *
 * @param owner The backend about to be used.
 * @param description The backend's label, for the message.
 * @throws {InvalidStateError} Saying to enqueue through `queue.inTransaction(trx)`.
 */
export function assertOutsideTransaction(
  owner: object,
  description: string,
): void {
  if (scope.getStore() === owner) {
    throw new InvalidStateError(
      `Cannot use ${description} inside its own transaction(): the call would wait for that transaction to end; enqueue with queue.inTransaction(trx), read with trx, or make the call after the transaction`,
    );
  }
}
