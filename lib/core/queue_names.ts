/**
 * Queue names (schema v8): what a task's `queue`, a worker's `queues` and
 * `queue.queues` accept, checked in one place.
 *
 * @module
 */
import { checkWellFormed, show } from "./validate.ts";

/** The queue of a task enqueued without one. */
export const DEFAULT_QUEUE = "default";

/** The longest queue name, in UTF-16 code units. */
export const QUEUE_NAME_LIMIT = 128;

/**
 * Throws unless `value` can be a queue name: a string of 1 to 128
 * characters without control characters, well-formed Unicode (it is
 * stored and compared exactly).
 *
 * @param value What the caller passed.
 * @param action What is being done, for the message ("enqueue task \"a\"").
 * @param option The option's name, for the message ("queue").
 * @throws {TypeError} If it is not a string.
 * @throws {RangeError} If it is empty, too long, or holds a control
 * character or a lone surrogate.
 *
 * @example
 * ```ts ignore
 * checkQueueName("emails", "pause queue", "name"); // passes
 * checkQueueName("", "pause queue", "name"); // RangeError
 * ```
 */
export function checkQueueName(
  value: unknown,
  action: string,
  option: string,
): asserts value is string {
  if (typeof value !== "string") {
    throw new TypeError(
      `Cannot ${action} as '${option}' must be a queue name string (1 to ${QUEUE_NAME_LIMIT} characters, e.g. "emails"): current value is ${
        show(value)
      }`,
    );
  }
  if (value.length === 0 || value.length > QUEUE_NAME_LIMIT) {
    throw new RangeError(
      `Cannot ${action} as '${option}' must be 1 to ${QUEUE_NAME_LIMIT} characters: current value has ${value.length}${
        value.length === 0
          ? ` (leave it out for the "${DEFAULT_QUEUE}" queue)`
          : ""
      }`,
    );
  }
  // deno-lint-ignore no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) {
    throw new RangeError(
      `Cannot ${action} as '${option}' must not contain control characters: current value is ${
        JSON.stringify(value)
      }`,
    );
  }
  checkWellFormed(value, action, option);
}

/**
 * Throws unless `value` is a non-empty array of queue names
 * (`WorkerOptions.queues`).
 *
 * @param value What the caller passed.
 * @param action What is being done, for the message ("create Worker").
 * @throws {TypeError} If it is not an array, or an entry not a string.
 * @throws {RangeError} If it is empty or an entry is not a valid name.
 */
export function checkQueueList(value: unknown, action: string): void {
  if (!Array.isArray(value)) {
    throw new TypeError(
      `Cannot ${action} as 'queues' must be an array of queue names, e.g. ["emails"] (leave it out to claim from every queue): current value is ${
        show(value)
      }`,
    );
  }
  if (value.length === 0) {
    throw new RangeError(
      `Cannot ${action} as 'queues' must name at least one queue (leave it out to claim from every queue)`,
    );
  }
  value.forEach((name, index) =>
    checkQueueName(name, action, `queues[${index}]`)
  );
}
