/**
 * The floor's table: the columns a queue row needs and the claim index sitq
 * uses, so the raw-SQL floor does the same I/O a queue must do and no less.
 *
 * @module
 */

/** The synchronous levels the bench accepts (`--sync`). */
export const SYNC_LEVELS = ["full", "normal"];

/**
 * The connection settings sitq uses: WAL, a busy timeout, and the given
 * durability (`full` is sitq's default: a commit survives power loss).
 *
 * @param {import("./drivers.js").FloorDatabase} db
 * @param {string} sync "full" or "normal"
 */
export function applyPragmas(db, sync) {
  if (!SYNC_LEVELS.includes(sync)) {
    throw new Error(`--sync must be one of ${SYNC_LEVELS.join(", ")}`);
  }
  db.exec("PRAGMA journal_mode = WAL");
  db.exec(`PRAGMA synchronous = ${sync.toUpperCase()}`);
  db.exec("PRAGMA busy_timeout = 5000");
}

/**
 * Creates the tasks table and its partial claim index. The literal
 * `'queued'` matters: SQLite uses a partial index only for a literal match.
 *
 * @param {import("./drivers.js").FloorDatabase} db
 */
export function createSchema(db) {
  db.exec(`CREATE TABLE IF NOT EXISTS tasks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    args TEXT NOT NULL,
    status TEXT NOT NULL,
    priority INTEGER NOT NULL DEFAULT 0,
    run_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    lease_owner TEXT,
    lease_expires_at INTEGER,
    result TEXT,
    created_at INTEGER NOT NULL,
    finished_at INTEGER
  )`);
  db.exec(`CREATE INDEX IF NOT EXISTS tasks_claim
    ON tasks(priority DESC, run_at, id) WHERE status = 'queued'`);
}

/** Inserts one queued task; parameters: name, args, run_at, created_at. */
export const INSERT_SQL = `INSERT INTO tasks
  (name, args, status, priority, run_at, attempts, max_attempts, created_at)
  VALUES (?, ?, 'queued', 0, ?, 0, 3, ?)`;

/**
 * Claims the next due task. Parameters: lease_owner, lease_expires_at, now.
 * The subquery walks the partial index, so it stays cheap however many
 * finished rows the table holds.
 */
export const CLAIM_ONE_SQL = `UPDATE tasks
  SET status = 'running', attempts = attempts + 1,
      lease_owner = ?, lease_expires_at = ?
  WHERE id = (
    SELECT id FROM tasks WHERE status = 'queued' AND run_at <= ?
    ORDER BY priority DESC, run_at, id LIMIT 1)
  RETURNING id, args`;

/**
 * Claims up to `?` due tasks in one statement. Parameters: lease_owner,
 * lease_expires_at, now, limit.
 */
export const CLAIM_MANY_SQL = `UPDATE tasks
  SET status = 'running', attempts = attempts + 1,
      lease_owner = ?, lease_expires_at = ?
  WHERE id IN (
    SELECT id FROM tasks WHERE status = 'queued' AND run_at <= ?
    ORDER BY priority DESC, run_at, id LIMIT ?)
  RETURNING id, args`;

/** Records a result. Parameters: result, finished_at, id. */
export const COMPLETE_SQL = `UPDATE tasks
  SET status = 'completed', result = ?, finished_at = ?
  WHERE id = ?`;
