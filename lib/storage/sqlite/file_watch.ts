/**
 * A best-effort "this file changed" signal from the operating system
 * (inotify, kqueue, ReadDirectoryChangesW), through `node:fs` `watch`, which
 * Bun, Deno and Node all provide. SQLite's dialect watches the write-ahead
 * log with it: one step of the wake-up path described in `change_feed.ts`.
 *
 * @module
 */
import { type FSWatcher, watch } from "node:fs";

/** Stops a watch; safe to call more than once. */
export type StopWatching = () => void;

/**
 * Calls `onChange` whenever `path` is written, until the returned function
 * is called. Returns undefined where the file cannot be watched (missing
 * file, no permission, a file system without change events): callers must
 * keep polling as their safety net, since a watch is a hint, never proof.
 * When the watch ends by itself (the file was removed or replaced, so its
 * events stop, or the watcher failed), `onLost` is called once.
 *
 * The watch does not keep the process alive.
 *
 * @param path The file to watch.
 * @param onChange Called, without arguments, after each change event.
 * @param onLost Called once if the watch ends without being stopped.
 * @returns A function that stops watching, or undefined.
 */
export function watchFile(
  path: string,
  onChange: () => void,
  onLost: () => void,
): StopWatching | undefined {
  let watcher: FSWatcher;
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    try {
      watcher.close();
    } catch {
      // Closing a watcher whose file vanished can throw; it is gone anyway.
    }
  };
  const lost = () => {
    if (stopped) return;
    stop();
    onLost();
  };
  try {
    // Deno ignores `persistent: false`; unref() is what it honours, but
    // only for the read of the next event in flight: after each event it
    // starts a new read that holds the process open again (Deno 2.x), so a
    // script that leaves its queue open after its worker stopped would never
    // exit. Unref again once that read has started, a microtask after the
    // event's listener returns.
    const unref = () => (watcher as { unref?: () => unknown }).unref?.();
    watcher = watch(path, { persistent: false }, (event) => {
      onChange();
      // "rename": the watched file itself went away or was replaced; this
      // watch sees nothing of the new one.
      if (event === "rename") lost();
      else queueMicrotask(unref);
    });
    unref();
    // A watch that breaks only loses the hint: the caller's polling goes on.
    watcher.on("error", lost);
    return stop;
  } catch {
    return undefined;
  }
}
