/**
 * The errors sitq throws on purpose.
 *
 * Bad options are built-in `TypeError`s and `RangeError`s. Conditions a caller
 * may want to catch are subclasses of {@linkcode SitqError}, each with a stable
 * `code` to branch on.
 *
 * @module
 */

/** Stable, machine-readable reasons carried by {@linkcode SitqError.code}. */
export type SitqErrorCode =
  | "UNKNOWN_TASK"
  | "DUPLICATE_TASK"
  | "DECLARATION_CONFLICT"
  | "DUPLICATE_KEY"
  | "INVALID_WORKFLOW"
  | "TASK_NOT_FOUND"
  | "INVALID_STATE"
  | "SERIALIZATION"
  | "WAIT_TIMEOUT"
  | "TASK_TIMEOUT"
  | "PERMANENT"
  | "INTERRUPTED"
  | "LEASE_LOST"
  | "CANCELLED"
  | "THREAD_OUT_OF_MEMORY"
  | "THREAD_CRASHED"
  | "THREAD_START_FAILED"
  | DatabaseErrorCode;

/**
 * The codes a {@linkcode DatabaseError} carries, and what to do about each.
 * Common to every backend:
 *
 * - `DRIVER_NOT_FOUND`: the database driver cannot be loaded: this runtime
 *   has no SQLite driver sitq can use (install `better-sqlite3` or upgrade
 *   the runtime), or `pg` is not installed for `PostgresBackend` (`npm
 *   install pg`).
 * - `SCHEMA_TOO_NEW`: a newer sitq wrote the database (on PostgreSQL: the
 *   schema); upgrade sitq.
 * - `CLOSED`: the backend was closed; create a new one.
 * - `DATABASE`: any other failure; the message carries the database's own.
 *
 * SQLite:
 *
 * - `CANNOT_OPEN`: the file cannot be opened or created; check that its
 *   directory exists and that the process may read and write it.
 * - `NOT_A_DATABASE`: the file exists but is not an SQLite database.
 * - `DATABASE_LOCKED`: another connection kept its lock past the busy
 *   timeout; retry, raise `busyTimeout`, or end the long transaction.
 * - `DATABASE_CORRUPT`: the file is damaged; restore it from a backup.
 * - `DISK_FULL`: the disk (or the database's size limit) is full; free space
 *   and retry. The failed write changed nothing; committed work is intact.
 * - `READ_ONLY`: the process may only read the file, its directory or its
 *   filesystem; give it write access.
 * - `IO_ERROR`: the operating system failed a read or write; check the disk
 *   and filesystem, then retry. The failed write changed nothing.
 *
 * PostgreSQL (`PostgresBackend`; `DISK_FULL`, `READ_ONLY`, `IO_ERROR` and
 * `DATABASE_CORRUPT` are also reported for the server's matching errors):
 *
 * - `CONNECTION_FAILED`: no connection could be made: the server refused it,
 *   the host is unreachable or unknown, the connect timed out, or the
 *   server has no free connection slot; check that the server runs and
 *   that the URL's host and port are right.
 * - `AUTHENTICATION_FAILED`: the server refused the user or password (SQLSTATE
 *   28P01, 28000); check the credentials and the server's `pg_hba.conf`.
 * - `DATABASE_NOT_FOUND`: the URL names a database the server does not have
 *   (3D000); create it (`createdb <name>`) or fix the URL.
 * - `CONNECTION_LOST`: the server ended a connection in use (a restart or
 *   shutdown, 57P01/57P02/57P03, or a network failure); the failed call
 *   changed nothing unless the commit had reached the server. Workers
 *   retry by themselves and resume once the server is back.
 * - `STATEMENT_TIMEOUT`: a statement ran past `statement_timeout` and was
 *   cancelled (57014); the failed write changed nothing. Raise
 *   `statementTimeout`, or find the transaction holding the locks it waited for.
 */
export type DatabaseErrorCode =
  | "DRIVER_NOT_FOUND"
  | "CANNOT_OPEN"
  | "NOT_A_DATABASE"
  | "DATABASE_LOCKED"
  | "DATABASE_CORRUPT"
  | "DISK_FULL"
  | "READ_ONLY"
  | "IO_ERROR"
  | "CONNECTION_FAILED"
  | "AUTHENTICATION_FAILED"
  | "DATABASE_NOT_FOUND"
  | "CONNECTION_LOST"
  | "STATEMENT_TIMEOUT"
  | "SCHEMA_TOO_NEW"
  | "CLOSED"
  | "DATABASE";

/**
 * Base class of every error sitq throws on purpose; check `code` to branch.
 *
 * @example Branch on the code
 * ```ts
 * import { SitqError, SQLiteBackend, TaskQueue } from "sitq";
 *
 * const queue = new TaskQueue(new SQLiteBackend(":memory:"));
 * try {
 *   await queue.getResult(12345);
 * } catch (error) {
 *   if (error instanceof SitqError && error.code === "TASK_NOT_FOUND") {
 *     console.log("no such task");
 *   }
 * }
 * await queue.close();
 * ```
 */
export class SitqError extends Error {
  /** A stable, machine-readable reason, e.g. `"UNKNOWN_TASK"`. */
  readonly code: SitqErrorCode;

  /**
   * Creates an error with a stable code.
   *
   * @param code The machine-readable reason.
   * @param message What went wrong and what to do about it.
   * @param options The standard `cause` option.
   */
  constructor(code: SitqErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * A task name has no handler here: it was never registered on this queue, or
 * a worker was asked to run a name it has no handler for.
 *
 * @example
 * ```ts
 * import { UnknownTaskError } from "sitq";
 *
 * const error = new UnknownTaskError("resize", "enqueue");
 * console.log(error.code); // "UNKNOWN_TASK"
 * ```
 */
export class UnknownTaskError extends SitqError {
  /** The task name that has no handler. */
  readonly taskName: string;

  /**
   * Creates the error.
   *
   * @param taskName The name that has no handler.
   * @param action What was attempted, for the message.
   * @param hint What to do about it; by default, to define the task with
   * `queue.task(name, handler)`.
   */
  constructor(taskName: string, action: string, hint?: string) {
    super(
      "UNKNOWN_TASK",
      `Cannot ${action} task "${taskName}": no task of that name is registered on this queue; ${
        hint ?? `define it with queue.task("${taskName}", handler) first`
      }`,
    );
    this.taskName = taskName;
  }
}

/**
 * A second handler for a task name on one queue: `queue.task(name, handler)`
 * under a name another handler has, or a handler bound to a declaration that
 * already has a different one. A name has one handler per queue, since a
 * worker looks the handler up by the stored name.
 *
 * @example
 * ```ts
 * import { declareTask, DuplicateTaskError, SQLiteBackend, TaskQueue } from "sitq";
 *
 * const ping = declareTask<[], string>("ping");
 * const queue = new TaskQueue(new SQLiteBackend(":memory:"));
 * queue.task(ping, () => "pong");
 * try {
 *   queue.task(ping, () => "PONG");
 * } catch (error) {
 *   console.log(error instanceof DuplicateTaskError, (error as DuplicateTaskError).taskName); // true "ping"
 * }
 * await queue.close();
 * ```
 */
export class DuplicateTaskError extends SitqError {
  /** The name that already has a handler. */
  readonly taskName: string;

  /**
   * Creates the error.
   *
   * @param taskName The name that already has a handler.
   * @param message What was attempted and what to do instead.
   */
  constructor(taskName: string, message: string) {
    super("DUPLICATE_TASK", message);
    this.taskName = taskName;
  }
}

/**
 * One task name, two definitions on one queue: two declarations of the name
 * whose options differ, a declaration and a task defined with a handler of
 * its own (`queue.task(name, handler)`), or an enqueue of a declaration that
 * differs from the one registered. Declarations are compared by name and
 * options, since their types exist only at compile time.
 *
 * @example
 * ```ts
 * import { declareTask, DeclarationConflictError, SQLiteBackend, TaskQueue } from "sitq";
 *
 * const queue = new TaskQueue(new SQLiteBackend(":memory:"));
 * queue.declare(declareTask<[string], void>("email", { maxAttempts: 5 }));
 * try {
 *   queue.declare(declareTask<[string], void>("email", { maxAttempts: 1 }));
 * } catch (error) {
 *   console.log(error instanceof DeclarationConflictError); // true
 * }
 * await queue.close();
 * ```
 */
export class DeclarationConflictError extends SitqError {
  /** The name defined twice. */
  readonly taskName: string;

  /**
   * Creates the error.
   *
   * @param taskName The name defined twice.
   * @param message Which definitions disagree and how to reconcile them.
   */
  constructor(taskName: string, message: string) {
    super("DECLARATION_CONFLICT", message);
    this.taskName = taskName;
  }
}

/**
 * A run's unique key is held by another task of its name, and the run said
 * `onDuplicate: "error"`; or a requeue would give a second task the key of
 * a task that holds it. Nothing was written: in a bulk enqueue, none of the
 * batch.
 *
 * @example Refuse a second welcome email while one is pending
 * ```ts
 * import { DuplicateKeyError, SQLiteBackend, TaskQueue } from "sitq";
 *
 * const queue = new TaskQueue(new SQLiteBackend(":memory:"));
 * const welcome = queue.task("welcome", (userId: number) => userId);
 * const once = welcome.with({ uniqueKey: "user:42", onDuplicate: "error" });
 * const first = await queue.enqueue(once, 42);
 * try {
 *   await queue.enqueue(once, 42);
 * } catch (error) {
 *   if (error instanceof DuplicateKeyError) {
 *     console.log(error.code, error.key, error.holderId === first); // "DUPLICATE_KEY" "user:42" true
 *   }
 * }
 * await queue.close();
 * ```
 */
export class DuplicateKeyError extends SitqError {
  /** The task name the key belongs to (keys are unique per name). */
  readonly taskName: string;
  /** The key that is held. */
  readonly key: string;
  /**
   * The id of the task that holds the key; undefined when the holder is an
   * earlier run of the same bulk enqueue (which was not written either).
   */
  readonly holderId: number | undefined;

  /**
   * Creates the error.
   *
   * @param taskName The task name the key belongs to.
   * @param key The key that is held.
   * @param holderId The holder's id, or undefined for an earlier run of
   * the same batch.
   * @param message What was attempted; by default, an enqueue.
   */
  constructor(
    taskName: string,
    key: string,
    holderId: number | undefined,
    message?: string,
  ) {
    super(
      "DUPLICATE_KEY",
      message ??
        (holderId === undefined
          ? `Cannot enqueue task "${taskName}" with unique key ${
            JSON.stringify(key)
          }: an earlier run of the same batch has that key and onDuplicate is "error", so nothing of the batch was written`
          : `Cannot enqueue task "${taskName}" with unique key ${
            JSON.stringify(key)
          }: task ${holderId} holds it and onDuplicate is "error" (wait for it with queue.waitForResult(${holderId}), or enqueue with onDuplicate "keep" or "replace")`),
    );
    this.taskName = taskName;
    this.key = key;
    this.holderId = holderId;
  }
}

/**
 * No task has the given id (it never existed, or it was pruned).
 *
 * @example
 * ```ts
 * import { TaskNotFoundError } from "sitq";
 *
 * console.log(new TaskNotFoundError(42).message);
 * ```
 */
export class TaskNotFoundError extends SitqError {
  /** The id that was looked up. */
  readonly taskId: number;

  /**
   * Creates the error.
   *
   * @param taskId The id that was looked up.
   */
  constructor(taskId: number) {
    super(
      "TASK_NOT_FOUND",
      `Cannot find task ${taskId}: no task has that id in this database (it may have been pruned); check the id returned by enqueue()`,
    );
    this.taskId = taskId;
  }
}

/**
 * An operation does not apply to the task's current status, e.g. cancelling a
 * running task.
 *
 * @example
 * ```ts
 * import { InvalidStateError } from "sitq";
 *
 * const error = new InvalidStateError("Cannot cancel task 1: it is running");
 * console.log(error.code); // "INVALID_STATE"
 * ```
 */
export class InvalidStateError extends SitqError {
  /**
   * Creates the error.
   *
   * @param message What was attempted and why it does not apply.
   */
  constructor(message: string) {
    super("INVALID_STATE", message);
  }
}

/**
 * A value could not be turned into text, or text back into a value.
 *
 * Thrown by `enqueue` before anything is written, so a rejected argument never
 * leaves a task behind.
 *
 * @example
 * ```ts
 * import { SerializationError } from "sitq";
 *
 * const error = new SerializationError("Cannot serialize argument 1: functions cannot be stored");
 * console.log(error.code); // "SERIALIZATION"
 * ```
 */
export class SerializationError extends SitqError {
  /**
   * Creates the error.
   *
   * @param message What could not be serialized and what to pass instead.
   * @param options The standard `cause` option.
   */
  constructor(message: string, options?: ErrorOptions) {
    super("SERIALIZATION", message, options);
  }
}

/**
 * `waitForResult` gave up before the task finished. The task itself is not
 * affected and may still finish later.
 *
 * @example
 * ```ts
 * import { WaitTimeoutError } from "sitq";
 *
 * console.log(new WaitTimeoutError(7, 1000).message);
 * ```
 */
export class WaitTimeoutError extends SitqError {
  /** The task that was being awaited. */
  readonly taskId: number;

  /**
   * Creates the error.
   *
   * @param taskId The task that was being awaited.
   * @param timeout The wait's limit in milliseconds.
   */
  constructor(taskId: number, timeout: number) {
    super(
      "WAIT_TIMEOUT",
      `Cannot get the result of task ${taskId}: it did not finish within ${timeout} ms; wait longer or check that a worker handles it`,
    );
    this.taskId = taskId;
  }
}

/**
 * An attempt ran past its timeout. This is the reason of the handler's
 * `AbortSignal` and the error stored for the attempt.
 *
 * @example
 * ```ts
 * import { TaskTimeoutError } from "sitq";
 *
 * console.log(new TaskTimeoutError("resize", 5000).message);
 * ```
 */
export class TaskTimeoutError extends SitqError {
  /**
   * Creates the error.
   *
   * @param taskName The task whose attempt timed out.
   * @param timeout The limit in milliseconds.
   */
  constructor(taskName: string, timeout: number) {
    super(
      "TASK_TIMEOUT",
      `Task "${taskName}" timed out after ${timeout} ms; raise its timeout or make the handler honour its AbortSignal`,
    );
  }
}

/**
 * Throw this from a handler to fail the task at once, without using its
 * remaining attempts.
 *
 * @example Stop retrying on a bad input
 * ```ts
 * import { PermanentError, SQLiteBackend, TaskQueue } from "sitq";
 *
 * const queue = new TaskQueue(new SQLiteBackend(":memory:"));
 * queue.task("charge", (amount: number) => {
 *   if (amount <= 0) throw new PermanentError(`amount must be positive: ${amount}`);
 *   return amount;
 * }, { maxAttempts: 5 });
 * await queue.close();
 * ```
 */
export class PermanentError extends SitqError {
  /**
   * Creates the error.
   *
   * @param message Why retrying cannot help.
   * @param options The standard `cause` option.
   */
  constructor(message: string, options?: ErrorOptions) {
    super("PERMANENT", message, options);
  }
}

/**
 * The reason a handler's signal fires when its worker stops before the handler
 * finished; the task goes back to the queue.
 *
 * @example
 * ```ts
 * import { InterruptedError } from "sitq";
 *
 * console.log(new InterruptedError("w1").code); // "INTERRUPTED"
 * ```
 */
export class InterruptedError extends SitqError {
  /**
   * Creates the error.
   *
   * @param workerId The worker that stopped.
   */
  constructor(workerId: string) {
    super(
      "INTERRUPTED",
      `Worker "${workerId}" stopped before the task finished; the task was returned to the queue`,
    );
  }
}

/**
 * The reason a handler's signal fires when its running task is cancelled
 * (`queue.cancel(id)`, `queue.cancelTasks(filter)`, from any process): the
 * task is already `cancelled` in the database, is not retried, and whatever
 * the handler returns or throws afterwards is ignored.
 *
 * @example Stop work when the task is cancelled
 * ```ts
 * import { CancelledError } from "sitq";
 *
 * const error = new CancelledError(7, "w1");
 * console.log(error.code, error.taskId); // "CANCELLED" 7
 * ```
 */
export class CancelledError extends SitqError {
  /** The task that was cancelled. */
  readonly taskId: number;

  /**
   * Creates the error.
   *
   * @param taskId The task that was cancelled.
   * @param workerId The worker that was running it.
   */
  constructor(taskId: number, workerId: string) {
    super(
      "CANCELLED",
      `Task ${taskId} was cancelled while worker "${workerId}" ran it; it will not be retried and its result is ignored`,
    );
    this.taskId = taskId;
  }
}

/**
 * The worker lost its claim on a task (its lease expired, so another worker
 * may run it); the handler's signal fires with this reason.
 *
 * @example
 * ```ts
 * import { LeaseLostError } from "sitq";
 *
 * console.log(new LeaseLostError(3, "w1").code); // "LEASE_LOST"
 * ```
 */
export class LeaseLostError extends SitqError {
  /**
   * Creates the error.
   *
   * @param taskId The task whose lease was lost.
   * @param workerId The worker that held it.
   */
  constructor(taskId: number, workerId: string) {
    super(
      "LEASE_LOST",
      `Worker "${workerId}" lost its lease on task ${taskId} (it expired before being renewed); another worker may run it, raise leaseDuration if the worker is often blocked`,
    );
  }
}

/**
 * The database could not be opened or used: a bad path, a file that is not a
 * database, a lock held too long, corruption, a full disk, a read-only file,
 * an I/O error, a schema from a newer sitq, no driver on this runtime, or,
 * on PostgreSQL, a server that cannot be reached, refuses the login, lacks
 * the database, goes away, or cancels a statement that ran too long; `code`
 * says which (see {@linkcode DatabaseErrorCode}). The write that failed
 * changed nothing, and what was committed before stays intact.
 *
 * @example
 * ```ts
 * import { DatabaseError, SQLiteBackend } from "sitq";
 *
 * const backend = new SQLiteBackend("/no/such/dir/tasks.db");
 * try {
 *   await backend.open();
 * } catch (error) {
 *   if (error instanceof DatabaseError) console.log(error.code); // "CANNOT_OPEN"
 * }
 * ```
 */
export class DatabaseError extends SitqError {
  /**
   * Creates the error.
   *
   * @param code Which database condition this is.
   * @param message What went wrong and what to do.
   * @param options The standard `cause` option (the driver's own error).
   */
  constructor(
    code: DatabaseErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(code, message, options);
  }
}
