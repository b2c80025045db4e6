/**
 * What the worker and its threads say to each other. Arguments, results and
 * progress cross as the serializer's text, never as live values: the thread
 * deserializes the arguments and serializes the result itself, so the
 * worker's event loop does no per-value work beyond reading the result, and
 * a value is stored exactly as an in-loop handler's would be.
 *
 * A thread runs one attempt at a time, so a terminated thread takes only
 * its own attempt with it.
 *
 * @module
 */
import type { StoredError } from "../../core/types.ts";

/** The thread's `workerData`: how to set itself up. */
export interface ThreadData {
  /**
   * The URL of a module whose default export is the serializer to use;
   * the default `SuperJsonSerializer` when absent.
   */
  serializer?: string;
}

/** The task context's plain fields, as the thread rebuilds them. */
export interface ContextData {
  id: number;
  name: string;
  attempt: number;
  maxAttempts: number;
  workerId: string;
}

/** Worker to thread: run one attempt. */
export interface RunMessage {
  type: "run";
  /** Tells this run's messages from a previous run's late ones. */
  run: number;
  /** The module's URL. */
  module: string;
  /** The export to call. */
  export: string;
  /** The stored arguments, as the serializer's text. */
  args: string;
  context: ContextData;
}

/** Worker to thread: a progress report was stored (or failed to be). */
export interface ProgressSavedMessage {
  type: "progressSaved";
  request: number;
  /** Why it could not be stored, if it could not. */
  error?: StoredError;
}

/** Everything the worker sends a thread. */
export type ToThread = RunMessage | ProgressSavedMessage;

/**
 * Thread to worker: the handler returned; `result` is the serialized value,
 * or null when it returned `undefined` (stored as NULL, never serialized).
 */
export interface DoneMessage {
  type: "done";
  run: number;
  result: string | null;
}

/**
 * Thread to worker: the attempt failed in the thread: the handler threw,
 * or its module, arguments or result could not be handled.
 */
export interface FailedMessage {
  type: "failed";
  run: number;
  error: StoredError;
  /** Whether retrying cannot help (`PermanentError`, unreadable arguments). */
  permanent: boolean;
}

/** Thread to worker: store this progress value (serialized) for the run. */
export interface ProgressMessage {
  type: "progress";
  run: number;
  request: number;
  progress: string;
}

/**
 * Thread to worker, once: its entry module has loaded. A thread that dies
 * before saying so failed to start, not while running a handler.
 */
export interface ReadyMessage {
  type: "ready";
}

/**
 * Thread to worker: an exception escaped every handler (thrown in a timer,
 * a promise rejected with no one to catch it); the thread exits next.
 */
export interface CrashedMessage {
  type: "crashed";
  error: StoredError;
}

/** Everything a thread sends the worker. */
export type FromThread =
  | ReadyMessage
  | DoneMessage
  | FailedMessage
  | ProgressMessage
  | CrashedMessage;

/**
 * An error as the other side reported it, rebuilt with its name, message,
 * stack and code, so that it is stored as it would have been where it was
 * thrown. `error` is the object to fill in (a `PermanentError`, say).
 */
export function rebuildStored(
  stored: StoredError,
  error: Error = new Error(stored.message),
): Error {
  for (const key of ["name", "stack", "code"] as const) {
    if (stored[key] === undefined) continue;
    Object.defineProperty(error, key, {
      value: stored[key],
      writable: true,
      configurable: true,
    });
  }
  return error;
}
