/**
 * Preloaded by `bun test` (bunfig.toml): once every test file has run,
 * whether they passed or not, stops the private PostgreSQL clusters this
 * process started (tests/support/postgres_server.ts). `bun test` runs no
 * `exit` handler, so without this a cluster would outlive the run until the
 * watchdog, a second later, removed it.
 *
 * @module
 */
import { afterAll } from "bun:test";
import { removeAllPostgresServers } from "./postgres_server.ts";

afterAll(() => removeAllPostgresServers());
