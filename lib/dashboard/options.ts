/**
 * The options of `createDashboard` and their checks.
 *
 * @module
 */

/** Options for {@linkcode createDashboard}. */
export interface DashboardOptions {
  /**
   * The path the dashboard is mounted under, e.g. `"/admin/queue"`: links
   * and routes are built on it, requests outside it get a 404. No trailing
   * slash needed.
   *
   * @default {""} (the root)
   */
  prefix?: string;
  /**
   * A secret that protects every page and endpoint (static files aside):
   * sent as `Authorization: Bearer <token>`, or typed once into the login
   * form (which sets an HttpOnly, SameSite=Strict cookie). Open to anyone
   * who can reach it when absent: bind to 127.0.0.1 then.
   */
  token?: string;
  /**
   * Whether the dashboard may change anything: retry, cancel, requeue,
   * pause and resume queues and schedules, prune. Read-only when false.
   *
   * @default {false}
   */
  actions?: boolean;
  /**
   * How often open pages refresh their counts and lists, in milliseconds.
   *
   * @default {2000}
   */
  refreshInterval?: number;
  /**
   * Origins, besides the request's own host, whose pages may post actions
   * (e.g. `"https://admin.example.com"` behind a proxy that rewrites the
   * Host header).
   *
   * @default {[]}
   */
  trustedOrigins?: readonly string[];
  /**
   * What `GET <prefix>/metrics` serves, in the Prometheus text format:
   * `true` for sitq's `prometheusMetrics(queue)` (the database's gauges and
   * this process's worker counters), a function for your own text, `false`
   * for a 404.
   *
   * @default {true}
   */
  metrics?: boolean | (() => string | Promise<string>);
}

/** The options with their defaults, checked. */
export interface ResolvedOptions {
  /** The prefix without a trailing slash ("" for the root). */
  prefix: string;
  token: string | undefined;
  actions: boolean;
  refreshInterval: number;
  trustedOrigins: readonly string[];
  /** `true`: sitq's metrics; a function: the caller's; `false`: none. */
  metrics: boolean | (() => string | Promise<string>);
}

const KEYS = new Set([
  "prefix",
  "token",
  "actions",
  "refreshInterval",
  "trustedOrigins",
  "metrics",
]);

function fail(option: string, rule: string, value: unknown): never {
  throw new TypeError(
    `Cannot create the dashboard as '${option}' must be ${rule}: current value is ${
      typeof value === "string" ? JSON.stringify(value) : String(value)
    }`,
  );
}

/**
 * Checks `options` and applies the defaults.
 *
 * @throws {TypeError} Naming the first bad option.
 */
export function resolveOptions(options: DashboardOptions): ResolvedOptions {
  if (options === null || typeof options !== "object") {
    fail("options", "an object", options);
  }
  for (const key of Object.keys(options)) {
    if (!KEYS.has(key)) fail(key, "a known option", key);
  }
  let prefix = options.prefix ?? "";
  if (
    typeof prefix !== "string" ||
    (prefix !== "" && !/^\/[A-Za-z0-9._~\-\/]*$/.test(prefix))
  ) {
    fail(
      "prefix",
      'a path starting with "/" (letters, digits, . _ ~ - /)',
      prefix,
    );
  }
  prefix = prefix.replace(/\/+$/, "");
  const token = options.token;
  if (
    token !== undefined && (typeof token !== "string" || token.length === 0)
  ) {
    fail("token", "a non-empty string", token);
  }
  const actions = options.actions ?? false;
  if (typeof actions !== "boolean") fail("actions", "a boolean", actions);
  const refreshInterval = options.refreshInterval ?? 2000;
  if (
    typeof refreshInterval !== "number" || !Number.isInteger(refreshInterval) ||
    refreshInterval < 100
  ) {
    fail("refreshInterval", "an integer >= 100 (ms)", refreshInterval);
  }
  const trustedOrigins = options.trustedOrigins ?? [];
  if (
    !Array.isArray(trustedOrigins) ||
    !trustedOrigins.every((origin) => typeof origin === "string")
  ) {
    fail("trustedOrigins", "an array of origin strings", trustedOrigins);
  }
  const metrics = options.metrics ?? true;
  if (typeof metrics !== "boolean" && typeof metrics !== "function") {
    fail("metrics", "a boolean or a function", metrics);
  }
  return {
    prefix,
    token,
    actions,
    refreshInterval,
    trustedOrigins,
    metrics,
  };
}
