/**
 * Compile-time tests of the `Logger` type, checked by
 * `tsc -p tsconfig.test.json` (never run): it takes every logger that
 * handles sitq's `(data, message)` calls correctly, `console` and pino
 * among them, and refuses one that takes the message first, whose data
 * would be lost. Every `@ts-expect-error` line must be an error;
 * tests/types.test.ts proves each one is, by stripping them.
 *
 * @module
 */
import {
  type LogData,
  type Logger,
  type LogMethod,
  SQLiteBackend,
  TaskQueue,
} from "../../mod.ts";

const queue = new TaskQueue(new SQLiteBackend(":memory:"));
queue.task("noop", () => {});

// ---- what fits -------------------------------------------------------------

// console, as it is.
queue.worker({ logger: console });

// pino: its level methods take `(obj, msg?, ...args)` or `(msg, ...args)`,
// and newer versions type the printf arguments from the message. Declared
// here from pino's documented call forms, so this package needs no pino.
type Placeholder = "d" | "s" | "j" | "o" | "O";
type PrintfArgs<Message, Found extends unknown[] = []> = Message extends
  `${string}%${infer Spec}${infer Rest}`
  ? Spec extends Placeholder ? PrintfArgs<Rest, [...Found, unknown]>
  : PrintfArgs<Rest, Found>
  : Found;
interface PinoLevelMethod {
  <Message extends string = string>(
    msg: Message,
    ...args: PrintfArgs<Message>
  ): void;
  <Fields, Message extends string = string>(
    obj: Fields,
    msg?: Fields extends string ? never : Message,
    ...args: PrintfArgs<Message> | []
  ): void;
}
interface PinoLikeLogger {
  level: string;
  trace: PinoLevelMethod;
  debug: PinoLevelMethod;
  info: PinoLevelMethod;
  warn: PinoLevelMethod;
  error: PinoLevelMethod;
  fatal: PinoLevelMethod;
  child(bindings: Record<string, unknown>): PinoLikeLogger;
}
declare const pino: PinoLikeLogger;
queue.worker({ logger: pino });
queue.worker({ logger: pino.child({ module: "jobs" }) });

// The older pino typing: three plain overloads.
interface OlderPinoLevelMethod {
  <T extends object>(obj: T, msg?: string, ...args: unknown[]): void;
  (obj: unknown, msg?: string, ...args: unknown[]): void;
  (msg: string, ...args: unknown[]): void;
}
declare const olderPino: Record<
  "debug" | "info" | "warn" | "error",
  OlderPinoLevelMethod
>;
queue.worker({ logger: olderPino });

// A logger of your own, fields first; some levels only; methods that
// return something (as winston's do) are fine too.
const own: Logger = {
  warn: (data, message) => console.warn(message, data.taskId),
  error(data: LogData, message: string): number {
    return String(data).length + message.length;
  },
};
queue.worker({ logger: own });
const method: LogMethod = (data) => console.log(data);
queue.worker({ logger: { debug: method } });

// ---- what is refused -------------------------------------------------------

// The order sitq called loggers with before: pino took the data for a
// printf argument and dropped it. A logger written that way is refused.
const messageFirst = (message: string, data?: LogData) =>
  console.log(message, data);
// @ts-expect-error the message would arrive where the data goes
queue.worker({ logger: { warn: messageFirst } });

// @ts-expect-error a level must be a function
queue.worker({ logger: { info: "yes" } });

// @ts-expect-error a single function is not a logger
queue.worker({ logger: (data: LogData, message: string) => [data, message] });

await queue.close();
