/**
 * One private PostgreSQL cluster for a whole CI test run (.ci/run): starts
 * it (tests/support/postgres_server.ts), prints its URL as the one line on
 * stdout, and keeps it until this process is told to stop (SIGTERM, SIGINT
 * or SIGHUP) or dies; the cluster and its directory go with it.
 *
 * Usage: `bun tests/support/ci_postgres.ts` (prints `postgres://...`).
 *
 * @module
 */
import { startPostgresServer } from "./postgres_server.ts";

const server = await startPostgresServer();
console.log(server.url);
// Kept alive until a signal: the exit handlers of postgres_server.ts remove
// the cluster on the way out.
setInterval(() => {}, 1 << 30);
