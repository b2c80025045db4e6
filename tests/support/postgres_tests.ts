/**
 * How a `bun test` file gets its PostgreSQL: {@linkcode describePostgres}
 * registers a group of tests on the server of `testPostgres()`
 * (SITQ_TEST_POSTGRES_URL, or this process's private cluster), and
 * {@linkcode describePrivatePostgres} a group on a private server of its own
 * that its tests may stop and start. Without a server the group is skipped
 * and the reason printed; under `CI=true` it is one failing test that gives
 * the reason instead, never a skip.
 *
 * @module
 */
import { afterAll, beforeAll, describe, test } from "bun:test";
import { TaskQueue, type TaskQueueOptions } from "../../mod.ts";
import {
  PostgresBackend,
  type PostgresBackendOptions,
} from "../../postgres.ts";
import { dropSchema } from "../conformance/raw_postgres.ts";
import { cleanup, closeLater } from "../helpers.ts";
import {
  freshSchema,
  postgresBinDir,
  type PostgresServer,
  startPostgresServer,
  testPostgres,
} from "./postgres_server.ts";

/**
 * Registers `body`'s tests under `title` with the tests' PostgreSQL URL.
 * Await it at the top of the test file (before other registrations that
 * should follow it).
 *
 * @example
 * ```ts
 * await describePostgres("PostgreSQL errors", (url) => {
 *   test("...", async () => { ... new PostgresBackend(url, ...) ... });
 * });
 * ```
 */
export async function describePostgres(
  title: string,
  body: (url: string) => void,
): Promise<void> {
  let found: Awaited<ReturnType<typeof testPostgres>>;
  try {
    found = await testPostgres();
  } catch (error) {
    // CI=true and no server: a failure with the reason, never a skip.
    test(`${title}: a PostgreSQL server for the tests`, () => {
      throw error;
    });
    return;
  }
  if (found.url === undefined) {
    console.warn(`PostgreSQL tests skipped (${title}): ${found.reason}`);
    describe.skip(`${title} (skipped: ${found.reason})`, () => {
      body("postgres://unavailable");
    });
    return;
  }
  const url = found.url;
  describe(title, () => body(url));
}

/**
 * Registers `body`'s tests under `title` on a private server of their own
 * (started in `beforeAll`; in `afterAll`, `cleanup()` of tests/helpers.ts,
 * then the server is destroyed): for tests that stop and
 * start the server or change its configuration. `server()` is that server
 * once `beforeAll` has run. Skipped (reason printed) without PostgreSQL
 * server binaries, a failing test instead under `CI=true`.
 */
export function describePrivatePostgres(
  title: string,
  body: (server: () => PostgresServer) => void,
): void {
  let missing: string | undefined;
  try {
    postgresBinDir();
  } catch (error) {
    missing = (error as Error).message;
  }
  if (missing !== undefined) {
    if (process.env.CI === "true") {
      test(`${title}: PostgreSQL server binaries`, () => {
        throw new Error(`CI=true: ${missing}`);
      });
      return;
    }
    console.warn(`PostgreSQL tests skipped (${title}): ${missing}`);
    describe.skip(`${title} (skipped: ${missing})`, () => {
      body(() => {
        throw new Error(missing);
      });
    });
    return;
  }
  describe(title, () => {
    let server: PostgresServer | undefined;
    beforeAll(async () => {
      server = await startPostgresServer();
    }, 90_000);
    // What the tests left open (tests/helpers.ts) closes while the server
    // still runs: a schema to drop needs it.
    afterAll(async () => {
      await cleanup();
      await server?.destroy();
    });
    body(() => {
      if (server === undefined) throw new Error("the server did not start");
      return server;
    });
  });
}

/** A queue on a fresh schema of the tests' server; see {@linkcode postgresQueue}. */
export interface PostgresQueue {
  queue: TaskQueue;
  backend: PostgresBackend;
  /** The schema's name (from `freshSchema()`). */
  schema: string;
}

/**
 * A queue on a fresh schema of the server at `url`, closed by `cleanup()` of
 * tests/helpers.ts, which then drops the schema.
 */
export function postgresQueue(
  url: string,
  backendOptions: PostgresBackendOptions = {},
  queueOptions: TaskQueueOptions = {},
): PostgresQueue {
  const schema = freshSchema();
  // Registered first, so cleanup (newest first) drops it last.
  closeLater({ close: () => dropSchema(url, schema) });
  const backend = new PostgresBackend(url, { schema, ...backendOptions });
  const queue = closeLater(new TaskQueue(backend, queueOptions));
  return { queue, backend, schema };
}
