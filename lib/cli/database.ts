/**
 * Which database a command works on, and opening it: a SQLite file path
 * (`tasks.db`, or a `file:` URL) or a PostgreSQL URL (`postgres://…`,
 * `postgresql://…`), from the positional argument or `--db`, else the
 * `SITQ_DATABASE` environment variable. PostgreSQL goes through
 * `sitq/postgres` and its optional peer `pg`, loaded only then.
 *
 * @module
 */
import { existsSync } from "node:fs";
import process from "node:process";
import { fileURLToPath } from "node:url";
import type { Backend } from "../storage/backend.ts";
import { SQLiteBackend } from "../storage/sqlite/sqlite_backend.ts";
import { QueueAdmin } from "../queue/queue_admin.ts";
import { CliError, EXIT } from "./errors.ts";

/** The environment variable read when no database is given. */
export const DATABASE_ENV = "SITQ_DATABASE";

/** Where the database is, as the options of a command give it. */
export interface DatabaseTarget {
  /** A path, `file:` URL or `postgres://` URL. */
  db?: string;
  /** The PostgreSQL schema (default `"sitq"`); ignored for SQLite. */
  schema?: string;
}

/** Whether `spec` is a PostgreSQL URL. */
export function isPostgresUrl(spec: string): boolean {
  return /^postgres(ql)?:\/\//i.test(spec);
}

/**
 * The database `target` names, else `SITQ_DATABASE`.
 *
 * @throws {CliError} USAGE when neither is set.
 */
export function databaseSpec(target: DatabaseTarget): string {
  const spec = target.db ?? process.env[DATABASE_ENV];
  if (spec === undefined || spec.trim() === "") {
    throw new CliError(
      `no database: pass a path or URL (--db tasks.db, --db postgres://…) or set ${DATABASE_ENV}`,
      EXIT.USAGE,
      "USAGE",
    );
  }
  return spec;
}

/**
 * A backend for `spec`. A SQLite file must exist unless `create` (only
 * `migrate` and `worker` create one): a typo should not leave an empty
 * database behind and report "0 tasks".
 *
 * @throws {CliError} NOT_FOUND for a missing SQLite file.
 */
export async function openBackend(
  spec: string,
  { schema, create = false }: { schema?: string; create?: boolean } = {},
): Promise<Backend> {
  if (isPostgresUrl(spec)) {
    const { PostgresBackend } = await import(
      "../storage/postgres/postgres_backend.ts"
    );
    return new PostgresBackend(spec, schema === undefined ? {} : { schema });
  }
  const path = spec.startsWith("file:") ? fileURLToPath(spec) : spec;
  if (!create && path !== ":memory:" && !existsSync(path)) {
    throw new CliError(
      `no database file at ${path} (run "sitq migrate ${path}" to create one)`,
      EXIT.NOT_FOUND,
      "DATABASE_NOT_FOUND",
    );
  }
  return new SQLiteBackend(path);
}

/** A {@linkcode QueueAdmin} on the database `target` names. */
export async function openAdmin(
  target: DatabaseTarget,
  options: { create?: boolean } = {},
): Promise<QueueAdmin> {
  const backend = await openBackend(databaseSpec(target), {
    schema: target.schema,
    ...options,
  });
  return new QueueAdmin(backend);
}
