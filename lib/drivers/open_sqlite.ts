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
  type NodeSqliteModule,
  NodeSqliteTooOldError,
  openNodeSqlite,
} from "./node_sqlite.ts";
import { detectRuntime, importRuntimeModule } from "./runtime.ts";
import { createShimDatabase, type ShimDatabase } from "./sqlite_shim.ts";
import { toDatabaseError } from "./sqlite_errors.ts";

/** The driver names {@linkcode openSqlite} can pick. */
export type SqliteDriverName = "bun:sqlite" | "node:sqlite" | "better-sqlite3";

function errorCode(error: unknown): unknown {
  return typeof error === "object" && error !== null && "code" in error
    ? error.code
    : undefined;
}

async function tryNodeSqlite(path: string): Promise<ShimDatabase | undefined> {
  let module: NodeSqliteModule;
  try {
    module = await importRuntimeModule("node:sqlite") as NodeSqliteModule;
  } catch (error) {
    // Node 20, and Node 22 before 22.13 without a flag, have no node:sqlite.
    if (errorCode(error) === "ERR_UNKNOWN_BUILTIN_MODULE") return undefined;
    throw error;
  }
  const native = openNodeSqlite(module, path);
  try {
    // Probe once so a node:sqlite too old for sitq falls back now, not later.
    native.prepare("select 1");
  } catch (error) {
    if (error instanceof NodeSqliteTooOldError) return undefined;
    throw error;
  }
  return createShimDatabase(native, "node:sqlite");
}

async function openBetter(path: string): Promise<ShimDatabase> {
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
  return createShimDatabase(openBetterSqlite3(module, path), "better-sqlite3");
}

async function openForRuntime(path: string): Promise<ShimDatabase> {
  switch (detectRuntime()) {
    case "bun":
      return createShimDatabase(await openBunSqlite(path), "bun:sqlite");
    case "deno": {
      const database = await tryNodeSqlite(path);
      if (database === undefined) {
        throw new DatabaseError(
          "DRIVER_NOT_FOUND",
          "Cannot open an SQLite database: this Deno has no usable node:sqlite; upgrade to Deno >= 2.2",
        );
      }
      return database;
    }
    case "node":
      return await tryNodeSqlite(path) ?? await openBetter(path);
  }
}

/**
 * Opens `path` with this runtime's driver, wrapped for Kysely.
 *
 * @param path A file path, or `":memory:"`.
 * @throws {DatabaseError} `DRIVER_NOT_FOUND` when no driver can be loaded,
 * `CANNOT_OPEN` when the file cannot be opened or created.
 */
export async function openSqlite(path: string): Promise<ShimDatabase> {
  try {
    return await openForRuntime(path);
  } catch (error) {
    throw toDatabaseError(error, path);
  }
}
