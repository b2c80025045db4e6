/**
 * The task declarations a producer and its workers share: names, argument
 * and result types, and run defaults, with no handler code. The producer
 * (producer.ts) imports only this module; the worker (worker.ts) imports it
 * and binds a handler to each declaration.
 *
 * @module
 */
import { declareTask } from "../../mod.ts";

/** Makes a thumbnail of an image; retried up to 3 times, 10 s per attempt. */
export const thumbnail = declareTask<
  [path: string, width: number],
  { file: string; width: number }
>("thumbnail", { maxAttempts: 3, timeout: 10_000 });

/** Sends a user a message; urgent by default. */
export const notify = declareTask<
  [user: string, message: string],
  { delivered: boolean; to: string }
>("notify", { priority: 5 });
