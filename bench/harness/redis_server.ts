/**
 * A private redis-server for the BullMQ peer: loopback only, a free port, a
 * temporary directory, stopped when the bench ends.
 *
 * @module
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import process from "node:process";

/** A running server, or why there is none. */
export type RedisHandle =
  | { port: number; durability: string; stop: () => Promise<void> }
  | { unavailable: string };

/**
 * Finds redis-server, installing it with apt-get when allowed, as root, and
 * it is missing.
 *
 * @param install false in `--quick` runs, which must stay fast and offline.
 * @returns the executable's path, or the reason there is none.
 */
export function ensureRedisServer(
  install: boolean,
): { path: string } | { unavailable: string } {
  const found = which("redis-server");
  if (found) return { path: found };
  if (!install) {
    return {
      unavailable: "redis-server not installed (--quick installs nothing)",
    };
  }
  if (process.getuid?.() !== 0) {
    return {
      unavailable:
        "redis-server not installed and not root: run apt-get install redis-server",
    };
  }
  console.error("installing redis-server with apt-get ...");
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  let result = aptGet(["install", "-y", "redis-server"], env);
  if (result.status !== 0) {
    // A fresh machine may have no package lists yet.
    aptGet(["update"], env);
    result = aptGet(["install", "-y", "redis-server"], env);
  }
  const path = which("redis-server");
  if (result.status === 0 && path) return { path };
  const why = (result.stderr || result.stdout || String(result.error ?? ""))
    .trim().split("\n").pop();
  return {
    unavailable:
      `redis-server not installed: apt-get install redis-server failed: ${why}`,
  };
}

/**
 * Starts redis-server on 127.0.0.1 and a free port, with an append-only
 * file fsynced as the bench's SQLite runs are (`always` for full,
 * `everysec` for normal) and no RDB snapshots.
 */
export async function startRedis(
  path: string,
  sync: "full" | "normal",
): Promise<RedisHandle> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "sitq-bench-redis-"));
  const fsync = sync === "full" ? "always" : "everysec";
  const child = spawn(path, [
    "--bind",
    "127.0.0.1",
    "--port",
    String(port),
    "--dir",
    dir,
    "--save",
    "",
    "--appendonly",
    "yes",
    "--appendfsync",
    fsync,
    "--protected-mode",
    "yes",
  ], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const stop = () =>
    stopChild(child).finally(() =>
      rmSync(dir, { recursive: true, force: true })
    );
  if (!(await waitForPing(port, 5_000))) {
    await stop();
    return {
      unavailable:
        `redis-server did not answer on port ${port}: ${stderr.trim()}`,
    };
  }
  return { port, durability: `AOF, appendfsync ${fsync}, no RDB`, stop };
}

function aptGet(args: string[], env: Record<string, string | undefined>) {
  return spawnSync("apt-get", args, {
    encoding: "utf8",
    env,
    timeout: 300_000,
  });
}

function which(name: string): string | undefined {
  return (process.env.PATH ?? "").split(delimiter).filter(Boolean)
    .map((dir) => join(dir, name)).find((file) => existsSync(file));
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

/** Polls with a raw PING until Redis answers +PONG or time runs out. */
async function waitForPing(port: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await ping(port)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.on("error", () => done(false));
    socket.on("data", (d) => done(d.toString().startsWith("+PONG")));
    socket.on("connect", () => socket.write("PING\r\n"));
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}
