/**
 * A private PostgreSQL cluster for the bench's PostgreSQL section: initdb in
 * a temporary directory, one server on 127.0.0.1 and a free port (its
 * socket in that directory), fsync and synchronous_commit on, stopped and
 * removed when the bench ends. The floor, sitq and the peers all use it, so
 * they pay the same durability. PostgreSQL refuses to run as root: as root
 * the cluster belongs to the `postgres` user and is run through `runuser`.
 *
 * @module
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
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
import { delimiter, join } from "node:path";
import process from "node:process";

/** A running server, or why there is none. */
export type PostgresHandle =
  | {
    /** `postgres://postgres@127.0.0.1:<port>/postgres` (trust auth, loopback). */
    url: string;
    port: number;
    /** e.g. "15.18". */
    version: string;
    /** The settings every subject runs under, for the results. */
    durability: string;
    stop: () => Promise<void>;
  }
  | { unavailable: string };

/** Settings that make every commit durable, stated rather than assumed. */
const SERVER_SETTINGS = [
  "fsync=on",
  "synchronous_commit=on",
  "full_page_writes=on",
  // Four worker processes with their pools, the producer and a peer's own
  // pools stay well under this.
  "max_connections=200",
];

/**
 * Finds initdb, postgres and pg_isready: on PATH, else the newest
 * `/usr/lib/postgresql/<major>/bin` (Debian keeps them off PATH).
 *
 * @returns the directory holding all three, or why there is none.
 */
export function findPostgresBin(): { bin: string } | { unavailable: string } {
  const wanted = ["initdb", "postgres", "pg_isready"];
  const candidates = (process.env.PATH ?? "").split(delimiter).filter(Boolean);
  const debian = "/usr/lib/postgresql";
  if (existsSync(debian)) {
    const majors = readdirSync(debian).filter((d) => /^\d+$/.test(d))
      .sort((a, b) => Number(b) - Number(a));
    candidates.push(...majors.map((major) => join(debian, major, "bin")));
  }
  const bin = candidates.find((dir) =>
    wanted.every((name) => existsSync(join(dir, name)))
  );
  if (bin) return { bin };
  return {
    unavailable: "PostgreSQL server binaries (initdb, postgres) not found " +
      "on PATH or in /usr/lib/postgresql/*/bin: apt-get install postgresql",
  };
}

/**
 * Creates a cluster in a temporary directory and starts it. Takes 1-3 s.
 *
 * @param bin the directory from {@link findPostgresBin}
 * @returns a handle whose `stop()` shuts the server down (fast mode) and
 *   removes its directory, or the reason it could not start.
 */
export async function startPostgres(bin: string): Promise<PostgresHandle> {
  const runAs = serverUser();
  if ("unavailable" in runAs) return runAs;
  const dir = mkdtempSync(join(tmpdir(), "sitq-bench-pg-"));
  const dataDir = join(dir, "data");
  const remove = () => rmSync(dir, { recursive: true, force: true });
  if (runAs.uid !== undefined) chownSync(dir, runAs.uid, runAs.gid!);
  const asUser = (command: string, args: string[]) =>
    runAs.uid === undefined
      ? [command, args] as const
      : ["runuser", ["-u", "postgres", "--", command, ...args]] as const;

  // initdb's own fsyncs are skipped (--no-sync): the cluster is scratch, and
  // what the bench measures runs under the server's fsync=on.
  const [initCommand, initArgs] = asUser(join(bin, "initdb"), [
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
  ]);
  const init = spawnSync(initCommand, initArgs, {
    encoding: "utf8",
    timeout: 120_000,
  });
  if (init.status !== 0) {
    remove();
    const why = `${init.stderr ?? ""}${init.error ?? ""}`.trim().split("\n")
      .slice(-2).join(" | ");
    return { unavailable: `initdb failed: ${why}` };
  }

  const port = await freePort();
  const [command, args] = asUser(join(bin, "postgres"), [
    "-D",
    dataDir,
    "-p",
    String(port),
    "-k",
    dir,
    "-c",
    "listen_addresses=127.0.0.1",
    ...SERVER_SETTINGS.flatMap((setting) => ["-c", setting]),
  ]);
  const child = spawn(command, args, { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  child.stderr?.setEncoding("utf8").on("data", (d: string) => {
    log = (log + d).slice(-4000);
  });
  const stop = () => stopServer(child, dataDir).finally(remove);
  if (!(await waitReady(bin, port, child, 30_000))) {
    await stop();
    return {
      unavailable: `postgres did not accept connections on port ${port}: ${
        log.trim().split("\n").slice(-3).join(" | ")
      }`,
    };
  }
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    version: serverVersion(bin),
    durability: SERVER_SETTINGS.slice(0, 2).join(", "),
    stop,
  };
}

/**
 * Who runs the server: this user, or `postgres` when this is root (the
 * server refuses to run as root).
 */
function serverUser():
  | { uid?: number; gid?: number }
  | { unavailable: string } {
  if (process.getuid?.() !== 0) return {};
  const id = (flag: string) =>
    spawnSync("id", [flag, "postgres"], { encoding: "utf8" });
  const uid = id("-u");
  const gid = id("-g");
  if (uid.status !== 0 || gid.status !== 0) {
    return {
      unavailable:
        "running as root and there is no `postgres` user to run the server as",
    };
  }
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

function serverVersion(bin: string): string {
  const out = spawnSync(join(bin, "postgres"), ["--version"], {
    encoding: "utf8",
  });
  return /(\d+(?:\.\d+)*)/.exec(out.stdout ?? "")?.[1] ?? "unknown";
}

/** Asks the kernel for an unused loopback port. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Polls pg_isready until the server accepts connections or exits. */
async function waitReady(
  bin: string,
  port: number,
  child: ChildProcess,
  timeoutMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && child.exitCode === null) {
    const probe = spawnSync(join(bin, "pg_isready"), [
      "-h",
      "127.0.0.1",
      "-p",
      String(port),
      "-t",
      "1",
    ]);
    if (probe.status === 0) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

/**
 * Fast shutdown: SIGINT to the postmaster itself (its pid is in
 * postmaster.pid; under runuser the spawned process is runuser's), then
 * SIGQUIT and SIGKILL if it lingers.
 */
function stopServer(child: ChildProcess, dataDir: string): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve();
  }
  const pid = postmasterPid(dataDir) ?? child.pid;
  const signal = (name: NodeJS.Signals) => {
    try {
      if (pid !== undefined) process.kill(pid, name);
    } catch {
      // Already gone.
    }
  };
  return new Promise((resolve) => {
    const quit = setTimeout(() => signal("SIGQUIT"), 10_000);
    const kill = setTimeout(() => {
      signal("SIGKILL");
      child.kill("SIGKILL");
    }, 15_000);
    child.once("exit", () => {
      clearTimeout(quit);
      clearTimeout(kill);
      resolve();
    });
    signal("SIGINT");
  });
}

function postmasterPid(dataDir: string): number | undefined {
  try {
    const first = readFileSync(join(dataDir, "postmaster.pid"), "utf8")
      .split("\n")[0];
    const pid = Number(first);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}
