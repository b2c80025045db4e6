/**
 * A progress bar on stderr for long operations (bulk retry, prune,
 * migrate), drawn only when stdout is a terminal: piped into a script, the
 * output stays exactly the result. No dependency: one line redrawn with
 * `\r`, at most every 100 ms.
 *
 * @module
 */
import process from "node:process";

/** A bar being drawn; see {@linkcode progressBar}. */
export interface Progress {
  /** Sets how much is done (of `total`; any number while it is unknown). */
  update(done: number, total?: number): void;
  /** Clears the bar, leaving the line for the command's own output. */
  finish(): void;
}

const NONE: Progress = { update() {}, finish() {} };
const WIDTH = 30;

/**
 * A bar labelled `label`, out of `total` (unknown: a moving marker), on
 * stderr; a no-op unless stdout is a TTY and `enabled`.
 */
export function progressBar(
  label: string,
  total: number | undefined,
  enabled = true,
): Progress {
  if (!enabled || process.stdout.isTTY !== true) return NONE;
  const stream = process.stderr;
  let last = 0;
  let done = 0;
  let tick = 0;
  const draw = () => {
    let bar: string;
    let tail: string;
    if (total !== undefined && total > 0) {
      const filled = Math.min(WIDTH, Math.round(done / total * WIDTH));
      bar = "#".repeat(filled) + "-".repeat(WIDTH - filled);
      tail = `${done}/${total}`;
    } else {
      const at = tick++ % WIDTH;
      bar = "-".repeat(at) + "#" + "-".repeat(WIDTH - at - 1);
      tail = done > 0 ? String(done) : "";
    }
    stream.write(`\r${label} [${bar}] ${tail}`);
  };
  const timer = total === undefined ? setInterval(draw, 100) : undefined;
  draw();
  return {
    update(value, newTotal) {
      done = value;
      if (newTotal !== undefined) total = newTotal;
      const now = Date.now();
      if (now - last >= 100 || (total !== undefined && done >= total)) {
        last = now;
        draw();
      }
    },
    finish() {
      if (timer !== undefined) clearInterval(timer);
      stream.write("\r\u001b[2K");
    },
  };
}

/**
 * Runs `work` with a bar of unknown length shown meanwhile (an operation
 * done in one call, such as one bulk transaction or a migration).
 */
export async function withSpinner<T>(
  label: string,
  enabled: boolean,
  work: () => Promise<T>,
): Promise<T> {
  const bar = progressBar(label, undefined, enabled);
  try {
    return await work();
  } finally {
    bar.finish();
  }
}
