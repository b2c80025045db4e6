/**
 * The one home of `StoredError`: an error turned into the plain data stored
 * with a task, that data as JSON text, and the text read back.
 *
 * @module
 */
import { coerceError } from "./coerce_error.ts";
import type { StoredError } from "./types.ts";

/** The plain-data form of an error, as stored with a task. */
export function toStoredError(value: unknown): StoredError {
  const error = coerceError(value);
  const stored: StoredError = {
    name: error.name || "Error",
    message: String(error.message),
  };
  if (typeof error.stack === "string") stored.stack = error.stack;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string") stored.code = code;
  return stored;
}

/**
 * An error as stored JSON text. An error whose properties throw when read is
 * stored as what could be read, never left unrecorded.
 */
export function storedErrorJson(error: unknown): string {
  try {
    return JSON.stringify(toStoredError(error));
  } catch {
    return JSON.stringify({
      name: "Error",
      message: "The task failed with an error whose details could not be read",
    });
  }
}

/** Parses a stored error, tolerating text that is not sitq's JSON. */
export function parseStoredError(text: string | null): StoredError | undefined {
  if (text === null) return undefined;
  try {
    const value = JSON.parse(text) as StoredError;
    if (typeof value?.message === "string") return value;
  } catch {
    // Written by something else: keep the text as the message.
  }
  return { name: "Error", message: text };
}
