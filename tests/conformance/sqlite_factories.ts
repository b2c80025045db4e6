/**
 * The SQLite runs of the conformance suite: a file, `:memory:`, and three
 * backends on one file taking calls in turn. Each test gets a new store (a
 * new file in its own scratch directory, or a new in-memory database).
 *
 * @module
 */
import { join } from "node:path";
import type { BackendFactory, Sitq } from "./harness.ts";
import { roundRobinBackend } from "./round_robin_backend.ts";

/** The three SQLite factories, on the `SQLiteBackend` of `sitq`. */
export function sqliteFactories(sitq: Sitq): BackendFactory[] {
  const { SQLiteBackend } = sitq;
  const fileStore = (scratch: string, backends: number) => {
    const path = join(scratch, "tasks.db");
    const connect = () => new SQLiteBackend(path);
    return {
      backend: backends === 1
        ? connect()
        : roundRobinBackend(Array.from({ length: backends }, connect)),
      connect,
      spec: { backend: "sqlite" as const, path },
      path,
    };
  };
  return [
    {
      name: "SQLite file",
      family: "sqlite",
      connections: true,
      processes: true,
      createStore: (scratch) => fileStore(scratch, 1),
    },
    {
      name: "SQLite :memory:",
      family: "sqlite",
      connections: false,
      processes: false,
      createStore: () => ({ backend: new SQLiteBackend(":memory:") }),
    },
    {
      name: "SQLite file, three backends in turn",
      family: "sqlite",
      connections: true,
      processes: true,
      createStore: (scratch) => fileStore(scratch, 3),
    },
  ];
}
