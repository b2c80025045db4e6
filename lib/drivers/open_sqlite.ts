/**
 * Opens an SQLite file with whatever driver this runtime has: `bun:sqlite` on
 * Bun, `node:sqlite` on Deno and Node >= 22.16, `better-sqlite3` elsewhere.
 *
 * @module
 */
import { DatabaseError } from "../core/errors.ts";
import {
  type BetterSqliteModule,
  openBetterSqlite3,
} from "./better_sqlite3.ts";
import { openBunSqlite } from "./bun_sqlite.ts";
import {
  isUsableNodeSqlite,
  type NodeSqliteModule,
  openNodeSqlite,
} from "./node_sqlite.ts";
import { detectRuntime, importRuntimeModule } from "../runtime/runtime.ts";
import { createShimDatabase, type ShimDatabase } from "./sqlite_shim.ts";
import { toDatabaseError } from "./sqlite_errors.ts";

/**
 * Milliseconds a statement waits for another connection's lock unless told
 * otherwise; `SQLiteBackend`'s `busyTimeout` defaults to it too.
 */
export const DEFAULT_BUSY_TIMEOUT = 5000;

/** Options of {@linkcode openSqlite}. */
export interface OpenSqliteOptions {
  /**
   * Milliseconds a statement waits for another connection's lock; set
   * before the first statement runs.
   *
   * @default {5000}
   */
  busyTimeout?: number;
}

function errorCode(error: unknown): unknown {
  return typeof error === "object" && error !== null && "code" in error
    ? error.code
    : undefined;
}

async function tryNodeSqlite(
  path: string,
  busyTimeout: number,
): Promise<ShimDatabase | undefined> {
  let module: NodeSqliteModule;
  try {
    module = await importRuntimeModule("node:sqlite") as NodeSqliteModule;
  } catch (error) {
    // Node 20, and Node 22 before 22.13 without a flag, have no node:sqlite.
    if (errorCode(error) === "ERR_UNKNOWN_BUILTIN_MODULE") return undefined;
    throw error;
  }
  // Too old for sitq: fall back before any file is opened.
  if (!isUsableNodeSqlite(module)) return undefined;
  return createShimDatabase(
    openNodeSqlite(module, path, busyTimeout),
    "node:sqlite",
  );
}

async function openBetter(
  path: string,
  busyTimeout: number,
): Promise<ShimDatabase> {
  let module: BetterSqliteModule;
  try {
    module = await importRuntimeModule("better-sqlite3") as BetterSqliteModule;
  } catch (error) {
    throw new DatabaseError(
      "DRIVER_NOT_FOUND",
      "Cannot open an SQLite database: this Node has no usable node:sqlite and better-sqlite3 is not installed; run `npm install better-sqlite3@12` or use Node >= 22.16",
      { cause: error },
    );
  }
  return createShimDatabase(
    openBetterSqlite3(module, path, busyTimeout),
    "better-sqlite3",
  );
}

async function openForRuntime(
  path: string,
  busyTimeout: number,
): Promise<ShimDatabase> {
  switch (detectRuntime()) {
    case "bun":
      return createShimDatabase(
        await openBunSqlite(path, busyTimeout),
        "bun:sqlite",
      );
    case "deno": {
      const database = await tryNodeSqlite(path, busyTimeout);
      if (database === undefined) {
        throw new DatabaseError(
          "DRIVER_NOT_FOUND",
          "Cannot open an SQLite database: this Deno has no usable node:sqlite; upgrade to Deno >= 2.2",
        );
      }
      return database;
    }
    case "node":
      return await tryNodeSqlite(path, busyTimeout) ??
        await openBetter(path, busyTimeout);
  }
}

/**
 * Opens `path` with this runtime's driver, wrapped for Kysely. The busy
 * timeout is set before any other statement; if opening fails, no handle is
 * left open.
 *
 * @param path A file path, or `":memory:"`.
 * @param options The busy timeout.
 * @throws {DatabaseError} `DRIVER_NOT_FOUND` when no driver can be loaded,
 * `CANNOT_OPEN` when the file cannot be opened or created, or the code of
 * whatever SQLite reported (see `toDatabaseError`).
 */
export async function openSqlite(
  path: string,
  options: OpenSqliteOptions = {},
): Promise<ShimDatabase> {
  const busyTimeout = Math.round(options.busyTimeout ?? DEFAULT_BUSY_TIMEOUT);
  try {
    return await openForRuntime(path, busyTimeout);
  } catch (error) {
    throw toDatabaseError(error, path);
  }
}
