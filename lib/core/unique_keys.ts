/**
 * Unique keys: the words and rules of a run's `uniqueKey`, shared by the
 * queue (which checks what users pass) and the backends (which store it).
 *
 * A run may carry a key. While a task of the same name holds that key, an
 * enqueue of the key creates no second task: it keeps the holder, replaces
 * the holder's run, or throws, as its `onDuplicate` says. A task holds its
 * key while it is waiting, queued or running, and after it completes for
 * its `uniqueFor` window, if it has one; a failed or cancelled task gives
 * its key up at once.
 *
 * @module
 */
import { checkInteger, checkWellFormed, show } from "./validate.ts";

/**
 * What an enqueue does when its unique key is held:
 * - `"keep"` (the default): nothing; the result names the holder.
 * - `"replace"`: a waiting or queued holder takes this run's arguments, run
 *   time, priority, attempts and timeout, with its attempts and last error
 *   reset (as graphile-worker's `job_key_mode: "replace"`); a running
 *   holder, or a completed one within its `uniqueFor` window, is kept as
 *   it is (the result says `replaced: false` and its status).
 * - `"error"`: throws `DuplicateKeyError` naming the key and the holder;
 *   in a bulk enqueue nothing of the batch is written.
 */
export type OnDuplicate = "keep" | "replace" | "error";

/** Every {@linkcode OnDuplicate}, for checks and messages. */
export const ON_DUPLICATE: readonly OnDuplicate[] = Object.freeze([
  "keep",
  "replace",
  "error",
]);

/** The longest key, in UTF-16 code units: at most 1,500 bytes of UTF-8. */
export const UNIQUE_KEY_LIMIT = 500;

/**
 * Throws unless `key` can be a unique key: a string of 1 to 500 characters,
 * well-formed Unicode, without NUL (which PostgreSQL cannot store in
 * text). Keys compare exactly: `"User:42"` and `"user:42"` are two keys.
 *
 * @param key What the caller passed.
 * @param action What is being done, for the message.
 * @param option How the option is named in the message.
 * @throws {TypeError} If `key` is not a string.
 * @throws {RangeError} If it is empty, too long, holds NUL or a lone
 * surrogate.
 */
export function checkUniqueKey(
  key: unknown,
  action: string,
  option = "uniqueKey",
): asserts key is string {
  if (typeof key !== "string") {
    throw new TypeError(
      `Cannot ${action} as '${option}' must be a string: current value is ${
        show(key)
      }`,
    );
  }
  if (key.length === 0 || key.length > UNIQUE_KEY_LIMIT) {
    throw new RangeError(
      `Cannot ${action} as '${option}' must be 1 to ${UNIQUE_KEY_LIMIT} characters: current value is ${
        key.length === 0 ? '""' : `${key.length} characters long`
      }`,
    );
  }
  if (key.includes("\u0000")) {
    throw new RangeError(
      `Cannot ${action} as '${option}' must not contain NUL (\\u0000), which PostgreSQL cannot store: current value is ${
        JSON.stringify(key)
      }`,
    );
  }
  checkWellFormed(key, action, option);
}

/**
 * Throws unless `value` is a `uniqueFor` window: an integer number of
 * milliseconds >= 0.
 */
export function checkUniqueFor(value: unknown, action: string): void {
  checkInteger(value, action, "uniqueFor", 0);
}

/** Throws unless `value` is an {@linkcode OnDuplicate}. */
export function checkOnDuplicate(value: unknown, action: string): void {
  if (!ON_DUPLICATE.includes(value as OnDuplicate)) {
    throw new (typeof value === "string" ? RangeError : TypeError)(
      `Cannot ${action} as 'onDuplicate' must be one of ${
        ON_DUPLICATE.map((mode) => JSON.stringify(mode)).join(", ")
      }: current value is ${show(value)}`,
    );
  }
}
