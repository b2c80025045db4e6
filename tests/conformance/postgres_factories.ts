/**
 * The PostgreSQL runs of the conformance suite: one backend on a schema, and
 * three backends (three pools) on one schema taking calls in turn. Each
 * test gets a store of its own, a fresh schema (`freshSchema()`) on the one
 * server the tests share, dropped once the test's backends have closed.
 *
 * @module
 */
import { freshSchema } from "../support/postgres_server.ts";
import type { BackendFactory, SitqPostgres, Store } from "./harness.ts";
import { dropSchema } from "./raw_postgres.ts";
import { roundRobinBackend } from "./round_robin_backend.ts";

/**
 * The PostgreSQL factories on the `PostgresBackend` of sitq's PostgreSQL
 * entry, for the server at `url` (e.g. SITQ_TEST_POSTGRES_URL).
 */
export function postgresFactories(
  sitqPostgres: SitqPostgres,
  url: string,
): BackendFactory[] {
  const { PostgresBackend } = sitqPostgres;
  const store = (backends: number): Store => {
    const schema = freshSchema();
    const connect = () => new PostgresBackend(url, { schema });
    return {
      backend: backends === 1
        ? connect()
        : roundRobinBackend(Array.from({ length: backends }, connect)),
      connect,
      spec: { backend: "postgres", url, schema },
      dispose: () => dropSchema(url, schema),
    };
  };
  return [
    {
      name: "PostgreSQL",
      family: "postgres",
      connections: true,
      processes: true,
      createStore: () => store(1),
    },
    {
      name: "PostgreSQL, three backends in turn",
      family: "postgres",
      connections: true,
      processes: true,
      createStore: () => store(3),
    },
  ];
}
