/**
 * A connection to PostgreSQL with node-postgres (`pg`), not through sitq,
 * for the PostgreSQL-only tests that must see or shape what is in the
 * database, and to drop a test's schema afterwards.
 *
 * @module
 */

/** A row as node-postgres returns it. */
export type RawRow = Record<string, unknown>;

/** What the tests need of a `pg.Client`. */
export interface RawClient {
  /** Runs one statement with `$1`-style parameters. */
  query(sql: string, params?: unknown[]): Promise<{ rows: RawRow[] }>;
}

interface PgClient extends RawClient {
  connect(): Promise<void>;
  end(): Promise<void>;
  on(event: "error", listener: (error: Error) => void): void;
}

type PgModule = {
  Client: new (config: { connectionString: string }) => PgClient;
};

/**
 * Imports `pg`. The specifier is a variable so that no type check needs
 * `pg`'s types, and `pg` is CommonJS: its exports sit on `default` in ESM.
 */
async function loadPg(): Promise<PgModule> {
  const specifier = "pg";
  const module = await import(specifier) as PgModule & { default?: PgModule };
  return module.default ?? module;
}

/** Runs `fn` on a new connection to `url`, then closes it. */
export async function withRawPostgres<T>(
  url: string,
  fn: (client: RawClient) => Promise<T>,
): Promise<T> {
  const { Client } = await loadPg();
  const client = new Client({ connectionString: url });
  // A connection the server ends while idle must not crash the process.
  client.on("error", () => {});
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** `name` quoted as an SQL identifier. */
export function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Drops `schema` and everything in it, if it exists. */
export async function dropSchema(url: string, schema: string): Promise<void> {
  await withRawPostgres(url, async (client) => {
    await client.query(`drop schema if exists ${ident(schema)} cascade`);
  });
}
