/**
 * What goes wrong between sitq and a PostgreSQL server, as users meet it:
 * a refused connection, a connect that never answers, an unknown role, a
 * wrong or missing password, a missing database, a statement timeout, and a
 * server that goes away while in use (and comes back). Each is a
 * `DatabaseError` with a code of its own and a message that says what to
 * do, and no message, and no description, ever holds the password.
 *
 * The shared server of the tests is used where nothing about the server
 * changes; the password and server-gone cases run on a private server whose
 * pg_hba.conf they change and which they stop and start.
 */
import { afterAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { DatabaseError } from "../mod.ts";
import { PostgresBackend } from "../postgres.ts";
import { cleanup, closeLater, waitUntil } from "./helpers.ts";
import { ident, withRawPostgres } from "./conformance/raw_postgres.ts";
import { freshSchema } from "./support/postgres_server.ts";
import {
  describePostgres,
  describePrivatePostgres,
  postgresQueue,
} from "./support/postgres_tests.ts";

afterAll(cleanup);

const PASSWORD = "Pw-do-not-print-4711";

/** `url` with user `user` and password `password` in it. */
function withCredentials(url: string, user: string, password?: string) {
  const parsed = new URL(url);
  parsed.username = user;
  parsed.password = password ?? "";
  return parsed.toString();
}

/** `url` naming database `database`. */
function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/** A backend closed by `cleanup()`. */
function backendFor(
  url: string,
  options: ConstructorParameters<typeof PostgresBackend>[1] = {},
): PostgresBackend {
  return closeLater(
    new PostgresBackend(url, { schema: freshSchema(), ...options }),
  );
}

/**
 * The DatabaseError `promise` rejects with, checked for `code`, for each of
 * `hints` in its message, and for no password anywhere in it.
 */
async function expectDatabaseError(
  promise: Promise<unknown>,
  code: string,
  hints: Array<string | RegExp>,
  secrets: string[] = [PASSWORD],
): Promise<DatabaseError> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(DatabaseError);
  const error = caught as DatabaseError;
  expect({ code: error.code, message: error.message }).toMatchObject({
    code,
  });
  for (const hint of hints) {
    if (typeof hint === "string") expect(error.message).toContain(hint);
    else expect(error.message).toMatch(hint);
  }
  for (const secret of secrets) {
    expect(error.message).not.toContain(secret);
    expect(String(error)).not.toContain(secret);
    expect(error.stack ?? "").not.toContain(secret);
  }
  return error;
}

/** A TCP port on 127.0.0.1 with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve())
  );
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test("a URL's password is in no description", () => {
  const backend = new PostgresBackend(
    `postgres://someone:${PASSWORD}@127.0.0.1:5999/shop`,
    { schema: "jobs" },
  );
  expect(backend.description).not.toContain(PASSWORD);
  expect(backend.description).toContain("127.0.0.1:5999");
  expect(backend.description).toContain("shop");
  expect(backend.description).toContain("jobs");
  expect(backend.schema).toBe("jobs");
});

test("a refused connection is CONNECTION_FAILED naming host and port, and says to check the server and the URL", async () => {
  const port = await closedPort();
  const backend = backendFor(
    `postgres://postgres:${PASSWORD}@127.0.0.1:${port}/postgres`,
  );
  await expectDatabaseError(backend.countByStatus(), "CONNECTION_FAILED", [
    `127.0.0.1:${port}`,
    /running/,
    /URL/,
  ]);
  // And the next call says the same: nothing is cached from the failure.
  await expectDatabaseError(
    backend.insertTasks([{
      name: "job",
      args: "[]",
      priority: 0,
      runAt: 0,
      maxAttempts: 1,
      timeout: null,
      createdAt: 0,
    }]),
    "CONNECTION_FAILED",
    [`127.0.0.1:${port}`],
  );
});

test("a server that accepts but never answers is CONNECTION_FAILED once connectionTimeout has passed, naming it", async () => {
  const sockets: Socket[] = [];
  const silent: Server = createServer((socket) => void sockets.push(socket));
  await new Promise<void>((resolve) =>
    silent.listen(0, "127.0.0.1", () => resolve())
  );
  const { port } = silent.address() as { port: number };
  try {
    const backend = backendFor(
      `postgres://postgres:${PASSWORD}@127.0.0.1:${port}/postgres`,
      { connectionTimeout: 300 },
    );
    await expectDatabaseError(backend.countByStatus(), "CONNECTION_FAILED", [
      `127.0.0.1:${port}`,
      /connectionTimeout/,
    ]);
  } finally {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  }
});

await describePostgres("PostgreSQL errors on the tests' server", (url) => {
  test("an unknown role is AUTHENTICATION_FAILED and says to check the credentials", async () => {
    const backend = backendFor(
      withCredentials(url, "no_such_role_for_sitq", PASSWORD),
    );
    await expectDatabaseError(backend.open(), "AUTHENTICATION_FAILED", [
      /credentials|password|user/i,
    ]);
  });

  test("a missing database is DATABASE_NOT_FOUND and says `createdb <name>`", async () => {
    const name = `sitq_missing_${process.pid}`;
    const backend = backendFor(
      withCredentials(withDatabase(url, name), "postgres", PASSWORD),
    );
    await expectDatabaseError(backend.countByStatus(), "DATABASE_NOT_FOUND", [
      `createdb ${name}`,
    ]);
  });

  test("a statement past statementTimeout is STATEMENT_TIMEOUT naming the option; the backend works on", async () => {
    const { backend, schema } = postgresQueue(url, { statementTimeout: 300 });
    await backend.open();
    await withRawPostgres(url, async (client) => {
      // Another session holds the table: sitq's read waits past its timeout.
      await client.query("begin");
      await client.query(
        `lock table ${ident(schema)}.sitq_tasks in access exclusive mode`,
      );
      try {
        await expectDatabaseError(
          backend.countByStatus(),
          "STATEMENT_TIMEOUT",
          [/statementTimeout/],
        );
      } finally {
        await client.query("rollback");
      }
    });
    expect(await backend.countByStatus()).toEqual({});
  });
});

describePrivatePostgres("PostgreSQL errors on a private server", (server) => {
  test("a wrong password, and none where one is asked for, are AUTHENTICATION_FAILED without the password; the right one works", async () => {
    const { url, dataDir } = server();
    await withRawPostgres(url, async (client) => {
      await client.query(
        `create role sitq_pw login password '${PASSWORD}'`,
      );
      // sitq creates its schema on first open.
      await client.query("grant create on database postgres to sitq_pw");
      // Password auth for this role on TCP, trust for everyone else.
      writeFileSync(
        join(dataDir, "pg_hba.conf"),
        [
          "host all sitq_pw 127.0.0.1/32 scram-sha-256",
          "local all all trust",
          "host all all 127.0.0.1/32 trust",
          "",
        ].join("\n"),
      );
      await client.query("select pg_reload_conf()");
    });
    const wrong = "Wrong-pw-0815";
    await expectDatabaseError(
      backendFor(withCredentials(url, "sitq_pw", wrong)).open(),
      "AUTHENTICATION_FAILED",
      [/credentials|password/i],
      [PASSWORD, wrong],
    );
    await expectDatabaseError(
      backendFor(withCredentials(url, "sitq_pw")).open(),
      "AUTHENTICATION_FAILED",
      [/password/i],
    );
    const right = backendFor(withCredentials(url, "sitq_pw", PASSWORD));
    expect(await right.countByStatus()).toEqual({});
    expect(right.description).not.toContain(PASSWORD);
  });

  test(
    "a server that goes away under a running statement is CONNECTION_LOST; while down, CONNECTION_FAILED; once back, the same backend works",
    async () => {
      const { url } = server();
      const backend = backendFor(
        withCredentials(url, "postgres", PASSWORD),
      );
      await backend.insertTasks([{
        name: "job",
        args: "[]",
        priority: 0,
        runAt: 0,
        maxAttempts: 1,
        timeout: null,
        createdAt: 0,
      }]);
      const { Client } = (await import("pg")).default;
      const holder = new Client({ connectionString: url });
      holder.on("error", () => {});
      await holder.connect();
      await holder.query("begin");
      await holder.query(
        `lock table ${
          ident(backend.schema)
        }.sitq_tasks in access exclusive mode`,
      );
      const blocked = backend.countByStatus();
      blocked.catch(() => {});
      await waitUntil(
        async () =>
          (await holder.query(
            `select count(*)::int as n from pg_stat_activity
            where wait_event_type = 'Lock' and pid <> pg_backend_pid()`,
          )).rows[0].n > 0,
        "sitq's read to wait for the lock",
      );
      // Immediate: every backend is killed at once. A fast stop rolls the
      // holder back first, which can let the blocked read take the lock
      // and finish before its own backend is told to end (seen under load).
      await server().stopServer("immediate");
      await holder.end().catch(() => {});
      await expectDatabaseError(blocked, "CONNECTION_LOST", [/retry/]);
      await expectDatabaseError(backend.countByStatus(), "CONNECTION_FAILED", [
        `127.0.0.1:${server().port}`,
      ]);
      await server().startServer();
      expect(await backend.countByStatus()).toEqual({ queued: 1 });
    },
    60_000,
  );
});
