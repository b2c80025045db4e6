/**
 * PostgreSQL servers for the tests and the bench: a private cluster in a
 * temporary directory ({@linkcode startPostgresServer}), or the server the
 * tests share ({@linkcode testPostgres}), and a fresh schema per test
 * ({@linkcode freshSchema}).
 *
 * A private cluster is `initdb -A trust -U postgres` in a fresh temporary
 * directory, served by `postgres` on a free port of 127.0.0.1 with its
 * socket in that directory. PostgreSQL refuses to run as root, so under
 * uid 0 the directory is given to the `postgres` user and every server
 * command runs through `runuser -u postgres --`. Binaries come from
 * `SITQ_POSTGRES_BIN`, else the newest `/usr/lib/postgresql/<v>/bin`, else
 * `pg_config --bindir`.
 *
 * Nothing outlives the process that started it: an `exit` handler (also
 * reached on SIGINT, SIGTERM and SIGHUP) stops every cluster still running
 * (`pg_ctl stop -m immediate`, synchronous) and removes its directory;
 * under `bun test`, which runs no `exit` handler, a global `afterAll` does
 * (tests/support/bun_test_setup.ts); and a small watchdog shell does the
 * same within a second if the process dies by SIGKILL.
 *
 * Uses only `node:` modules, so Bun, Node and Deno can all run it.
 *
 * @example
 * ```ts
 * const server = await startPostgresServer();
 * const backend = new PostgresBackend(server.url, { schema: freshSchema() });
 * // ...
 * await server.destroy();
 * ```
 *
 * @module
 */
import {
  type ChildProcess,
  execFile,
  execFileSync,
  spawn,
} from "node:child_process";
import {
  chownSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";

/** A running private cluster. */
export interface PostgresServer {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` (trust auth, no password). */
  readonly url: string;
  /** The TCP port on 127.0.0.1. */
  readonly port: number;
  /** The cluster's data directory. */
  readonly dataDir: string;
  /**
   * Stops the server; the data stays, for restart tests. `"fast"` (the
   * default) ends every session and shuts down cleanly; `"immediate"` is a
   * crash as far as the server can tell (no checkpoint, recovery at the
   * next start, unflushed asynchronous commits lost).
   */
  stopServer(mode?: "fast" | "immediate"): Promise<void>;
  /** Starts the server again on the same port and data; resolves once it accepts connections. */
  startServer(): Promise<void>;
  /** Stops the server (if running) and removes its directory. Idempotent. */
  destroy(): Promise<void>;
}

/** Options of {@linkcode startPostgresServer}. */
export interface PostgresServerOptions {
  /**
   * Whether the server fsyncs (default false: tests do not need crash
   * safety of the machine, and fsync=off makes them much faster).
   */
  fsync?: boolean;
  /** Extra `-c name=value` settings for the server, e.g. `{ log_min_messages: "debug1" }`. */
  settings?: Record<string, string | number>;
}

const IS_ROOT = typeof process.getuid === "function" && process.getuid() === 0;

/** Every private cluster this process still has to remove at exit. */
const live = new Set<Cluster>();

interface Cluster {
  root: string;
  dataDir: string;
  bin: string;
  watchdog?: ChildProcess;
}

/**
 * The directory with `initdb`, `pg_ctl` and `postgres`.
 *
 * @throws {Error} When none is found; the message lists where it looked.
 */
export function postgresBinDir(): string {
  const looked: string[] = [];
  const has = (dir: string) =>
    existsSync(join(dir, "initdb")) && existsSync(join(dir, "pg_ctl")) &&
    existsSync(join(dir, "postgres"));
  const override = process.env.SITQ_POSTGRES_BIN;
  if (override) {
    if (has(override)) return override;
    throw new Error(
      `SITQ_POSTGRES_BIN=${override} has no initdb, pg_ctl and postgres`,
    );
  }
  const base = "/usr/lib/postgresql";
  if (existsSync(base)) {
    const versions = readdirSync(base)
      .filter((v) => has(join(base, v, "bin")))
      .sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a));
    if (versions.length > 0) return join(base, versions[0]!, "bin");
  }
  looked.push(`${base}/*/bin`);
  try {
    const dir = execFileSync("pg_config", ["--bindir"], { encoding: "utf8" })
      .trim();
    if (has(dir)) return dir;
    looked.push(`${dir} (pg_config --bindir)`);
  } catch {
    looked.push("pg_config (not found)");
  }
  throw new Error(
    `No PostgreSQL server binaries (initdb, pg_ctl, postgres) in ${
      looked.join(", ")
    }. Install them (e.g. apt-get install postgresql) or set SITQ_POSTGRES_BIN.`,
  );
}

/** `[command, args]` running `tool` of `bin`, as `postgres` when we are root. */
function asServerUser(
  bin: string,
  tool: string,
  args: string[],
): [string, string[]] {
  const path = join(bin, tool);
  return IS_ROOT
    ? ["runuser", ["-u", "postgres", "--", path, ...args]]
    : [path, args];
}

function execAsync(
  command: string,
  args: string[],
  timeout = 60_000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { encoding: "utf8", timeout },
      (error, stdout, stderr) => {
        if (error) {
          reject(
            new Error(
              `${command} ${
                args.join(" ")
              } failed: ${error.message}\n${stdout}${stderr}`,
            ),
          );
        } else {
          resolve(stdout);
        }
      },
    );
  });
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function logTail(cluster: Cluster): string {
  try {
    return readFileSync(join(cluster.root, "server.log"), "utf8").split("\n")
      .slice(-15).join("\n");
  } catch {
    return "(no server log)";
  }
}

/** Synchronous stop and removal, for the exit handler. */
function removeNow(cluster: Cluster): void {
  live.delete(cluster);
  if (existsSync(join(cluster.dataDir, "postmaster.pid"))) {
    const [command, args] = asServerUser(cluster.bin, "pg_ctl", [
      "stop",
      "-D",
      cluster.dataDir,
      "-m",
      "immediate",
      "-w",
      "-t",
      "20",
    ]);
    try {
      execFileSync(command, args, { stdio: "ignore", timeout: 25_000 });
    } catch {
      // Not running (any more): nothing to stop.
    }
  }
  rmSync(cluster.root, { recursive: true, force: true });
  try {
    cluster.watchdog?.kill("SIGKILL");
  } catch {
    // Already gone.
  }
}

/**
 * Stops every private cluster of this process and removes its directory,
 * synchronously. The `exit` handler calls it; `bun test` does not run
 * `exit` handlers, so tests/support/bun_test_setup.ts (preloaded by
 * bunfig.toml) calls it from a global `afterAll`.
 */
export function removeAllPostgresServers(): void {
  for (const cluster of [...live]) removeNow(cluster);
}

let handlersInstalled = false;

function installExitHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on("exit", () => {
    for (const cluster of [...live]) removeNow(cluster);
  });
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    const onSignal = () => {
      for (const cluster of [...live]) removeNow(cluster);
      process.off(signal, onSignal);
      // Die of the signal as if nobody had listened.
      process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

/**
 * A shell that waits for this process to end and then stops the cluster and
 * removes its directory: the one cleanup that still happens after SIGKILL.
 */
function startWatchdog(cluster: Cluster): ChildProcess {
  const [command, args] = asServerUser(cluster.bin, "pg_ctl", [
    "stop",
    "-D",
    cluster.dataDir,
    "-m",
    "immediate",
    "-w",
  ]);
  const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
  const script =
    `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; ` +
    `${[command, ...args].map(quote).join(" ")} >/dev/null 2>&1; ` +
    `rm -rf ${quote(cluster.root)}`;
  const child = spawn("sh", ["-c", script], {
    detached: true,
    stdio: "ignore",
  });
  child.unref();
  return child;
}

/**
 * Starts a private cluster: initdb in a fresh temporary directory (as user
 * `postgres` when this process is root), then the server on a free port of
 * 127.0.0.1 with `max_connections=200`. Resolves once it accepts
 * connections. The cluster is removed at process exit if
 * {@linkcode PostgresServer.destroy} was not called.
 *
 * @throws {Error} When no server binaries are found, or initdb or the server
 * fails (the message has the end of the server's log).
 */
export async function startPostgresServer(
  options: PostgresServerOptions = {},
): Promise<PostgresServer> {
  const bin = postgresBinDir();
  installExitHandlers();
  const root = mkdtempSync(join(tmpdir(), "sitq-pg-"));
  const dataDir = join(root, "data");
  const cluster: Cluster = { root, dataDir, bin };
  live.add(cluster);
  try {
    if (IS_ROOT) {
      const uid = Number(
        execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }),
      );
      const gid = Number(
        execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }),
      );
      chownSync(root, uid, gid);
    }
    cluster.watchdog = startWatchdog(cluster);
    await execAsync(...asServerUser(bin, "initdb", [
      "-D",
      dataDir,
      "-A",
      "trust",
      "-U",
      "postgres",
      "-E",
      "UTF8",
      "--locale=C",
      "--no-sync",
    ]));
  } catch (error) {
    removeNow(cluster);
    throw error;
  }
  const settings: Record<string, string | number> = {
    listen_addresses: "127.0.0.1",
    max_connections: 200,
    fsync: options.fsync ? "on" : "off",
    ...(options.fsync ? {} : { full_page_writes: "off" }),
    ...options.settings,
  };
  let port = 0;
  const start = async () => {
    const serverOptions = [
      `-p ${port}`,
      `-k ${root}`,
      ...Object.entries(settings).map(([k, v]) => `-c ${k}=${v}`),
    ].join(" ");
    await execAsync(
      ...asServerUser(bin, "pg_ctl", [
        "start",
        "-D",
        dataDir,
        "-w",
        "-t",
        "60",
        "-l",
        join(root, "server.log"),
        "-o",
        serverOptions,
      ]),
      70_000,
    ).catch((error: Error) => {
      throw new Error(`${error.message}\nserver log:\n${logTail(cluster)}`);
    });
  };
  // The free port may be taken between the probe and the start: try again.
  for (let tries = 1;; tries++) {
    port = await freePort();
    try {
      await start();
      break;
    } catch (error) {
      if (tries >= 3) {
        removeNow(cluster);
        throw error;
      }
    }
  }
  let destroyed = false;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    dataDir,
    async stopServer(mode = "fast") {
      await execAsync(...asServerUser(bin, "pg_ctl", [
        "stop",
        "-D",
        dataDir,
        "-m",
        mode,
        "-w",
        "-t",
        "60",
      ]));
    },
    startServer: start,
    // deno-lint-ignore require-await
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      removeNow(cluster);
    },
  };
}

let shared:
  | Promise<{ url: string } | { url: undefined; reason: string }>
  | undefined;

/**
 * The URL tests use: `SITQ_TEST_POSTGRES_URL` if set, else one private
 * cluster per test process (started on the first call, removed at exit).
 * When none can be had it resolves to `{ url: undefined, reason }`, and
 * under `CI=true` it rejects with that reason instead: in CI a missing
 * server is a failure, never a skip.
 */
export function testPostgres(): Promise<
  { url: string } | { url: undefined; reason: string }
> {
  shared ??= (async () => {
    const given = process.env.SITQ_TEST_POSTGRES_URL;
    if (given) return { url: given };
    try {
      const server = await startPostgresServer();
      return { url: server.url };
    } catch (error) {
      return {
        url: undefined,
        reason:
          `no PostgreSQL for the tests: SITQ_TEST_POSTGRES_URL is not set and a private cluster could not start: ${
            (error as Error).message
          }`,
      };
    }
  })();
  return shared.then((found) => {
    if (found.url === undefined && process.env.CI === "true") {
      throw new Error(`CI=true: ${found.reason}`);
    }
    return found;
  });
}

let schemas = 0;
const RUN = Math.random().toString(36).slice(2, 6);

/**
 * A schema name no other test (of this or another process or run) uses:
 * `t_<pid>_<run>_<n>`, a plain identifier that PostgresBackend accepts.
 */
export function freshSchema(): string {
  return `t_${process.pid}_${RUN}_${++schemas}`;
}
