/**
 * The Node versions the suite runs sitq on, and where their binaries are.
 *
 * Node 20 is the machine's own `node` (better-sqlite3 is its driver). Node 22
 * and 24 (node:sqlite) are the official binaries the npm registry carries in
 * its `node-<platform>-<arch>` packages: fetched once with `npm pack` into
 * `.cache/node/` (git-ignored), not declared as devDependencies, because a
 * hard devDependency on a platform-specific binary would break `npm ci` on
 * every other platform, and each binary is ~40 MB that only the test suite
 * needs. A fetch that fails is a test failure, never a skip.
 *
 * `SITQ_NODE_MAJORS=20,22` narrows the list for a quick local run.
 *
 * Run directly (`bun tests/node_versions.ts`) to fetch and print them.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmSync,
} from "node:fs";
import { join } from "node:path";
import { ROOT } from "./helpers.ts";

/** One Node the suite runs on. */
export interface NodeRuntime {
  /** "node20", "node22", …: for test names. */
  label: string;
  major: number;
  /** The path of the `node` binary. */
  bin: string;
  /** The driver sitq must pick there. */
  driver: "better-sqlite3" | "node:sqlite";
}

/**
 * The exact official releases fetched for Node 22 and 24. Pinned so that
 * every run tests the same binaries; raise them on purpose.
 */
export const FETCHED_NODE_VERSIONS: Readonly<Record<number, string>> = {
  22: "22.23.5",
  24: "24.22.3",
};

const CACHE = join(ROOT, ".cache/node");

function systemNode(): NodeRuntime {
  const bin = process.env.SITQ_NODE ?? "node";
  const out = spawnSync(bin, ["--version"], { encoding: "utf8" });
  const major = Number(/^v(\d+)/.exec(out.stdout ?? "")?.[1]);
  if (!Number.isInteger(major)) {
    throw new Error(`Cannot run "${bin} --version": ${out.stderr ?? ""}`);
  }
  return {
    label: `node${major}`,
    major,
    bin,
    driver: major >= 22 ? "node:sqlite" : "better-sqlite3",
  };
}

function failFetch(version: string, what: string): never {
  throw new Error(
    `Cannot fetch Node ${version} for the tests (${what}). It comes from the npm registry as node-${process.platform}-${process.arch}@${version}; check that npm can reach the registry, or set SITQ_NODE_MAJORS to the versions you have.`,
  );
}

/** The path of the fetched `node` binary for `version`, fetching it if missing. */
export function fetchedNode(version: string): string {
  const dir = join(CACHE, version);
  const bin = join(dir, "bin/node");
  if (existsSync(bin)) return bin;
  const work = join(CACHE, `.fetch-${version}-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  try {
    const pkg = `node-${process.platform}-${process.arch}@${version}`;
    const pack = spawnSync(
      "npm",
      ["pack", pkg, "--silent", "--pack-destination", work],
      { encoding: "utf8", timeout: 300_000 },
    );
    if (pack.status !== 0) failFetch(version, pack.stderr.trim());
    const tarball = readdirSync(work).find((name) => name.endsWith(".tgz"));
    if (tarball === undefined) failFetch(version, "npm pack wrote no tarball");
    const untar = spawnSync("tar", ["-xzf", tarball, "package/bin/node"], {
      cwd: work,
      encoding: "utf8",
    });
    if (untar.status !== 0) failFetch(version, untar.stderr.trim());
    mkdirSync(join(dir, "bin"), { recursive: true });
    // Renamed into place last, so a half-fetched binary is never used.
    renameSync(join(work, "package/bin/node"), bin);
    return bin;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function selectedMajors(): number[] | undefined {
  const raw = process.env.SITQ_NODE_MAJORS;
  if (raw === undefined || raw.trim() === "") return undefined;
  return raw.split(",").map((part) => Number(part.trim()));
}

function listNodeRuntimes(): NodeRuntime[] {
  const majors = selectedMajors();
  const wanted = (major: number) =>
    majors === undefined || majors.includes(major);
  const own = systemNode();
  const fetched = Object.entries(FETCHED_NODE_VERSIONS)
    .map(([major, version]) => ({ major: Number(major), version }))
    .filter(({ major }) => major !== own.major && wanted(major))
    .map(({ major, version }): NodeRuntime => ({
      label: `node${major}`,
      major,
      bin: fetchedNode(version),
      driver: "node:sqlite",
    }));
  return [...(wanted(own.major) ? [own] : []), ...fetched]
    .sort((a, b) => a.major - b.major);
}

/**
 * Every Node the suite runs on, oldest first: the machine's own (Node 20 on
 * CI, better-sqlite3) and the fetched 22 and 24 (node:sqlite).
 */
export const NODE_RUNTIMES: readonly NodeRuntime[] = listNodeRuntimes();

if (import.meta.main) {
  for (const node of NODE_RUNTIMES) {
    console.log(`${node.label} ${node.bin} (${node.driver})`);
  }
}
