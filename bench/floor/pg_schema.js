/**
 * The PostgreSQL floor's table and statements: the SQLite floor's table
 * (schema.js) with the column types of sitq's PostgreSQL schema (bigint
 * ids, times and counters),
 * the same partial claim index, and claims with `FOR UPDATE SKIP LOCKED`,
 * so concurrent claimers skip each other's rows instead of waiting.
 *
 * @module
 */

/** Creates the tasks table and its partial claim index. */
export const CREATE_SQL = `
  CREATE TABLE tasks (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL,
    args text NOT NULL,
    status text NOT NULL,
    priority bigint NOT NULL DEFAULT 0,
    run_at bigint NOT NULL,
    attempts bigint NOT NULL DEFAULT 0,
    max_attempts bigint NOT NULL,
    lease_owner text,
    lease_expires_at bigint,
    result text,
    created_at bigint NOT NULL,
    finished_at bigint
  );
  CREATE INDEX tasks_claim ON tasks (priority DESC, run_at, id)
    WHERE status = 'queued';`;

/** Inserts one queued task. Parameters: name, args, run_at, created_at. */
export const INSERT_SQL = `INSERT INTO tasks
  (name, args, status, priority, run_at, attempts, max_attempts, created_at)
  VALUES ($1, $2, 'queued', 0, $3, 0, 3, $4)`;

/**
 * Inserts one queued task per element of an array, in one statement.
 * Parameters: name, args (text[]), now.
 */
export const INSERT_MANY_SQL = `INSERT INTO tasks
  (name, args, status, priority, run_at, attempts, max_attempts, created_at)
  SELECT $1, a, 'queued', 0, $3, 0, 3, $3 FROM unnest($2::text[]) AS a`;

/**
 * Claims up to `$4` due tasks in one statement, skipping rows another
 * claimer has locked, re-checking the status on the locked row.
 * Parameters: lease_owner, lease_expires_at, now, limit.
 */
export const CLAIM_SQL = `UPDATE tasks
  SET status = 'running', attempts = attempts + 1,
      lease_owner = $1, lease_expires_at = $2
  WHERE id IN (
    SELECT id FROM tasks WHERE status = 'queued' AND run_at <= $3
    ORDER BY priority DESC, run_at, id LIMIT $4
    FOR UPDATE SKIP LOCKED)
    AND status = 'queued'
  RETURNING id, args`;

/** Records a result. Parameters: result, finished_at, id. */
export const COMPLETE_SQL = `UPDATE tasks
  SET status = 'completed', result = $1, finished_at = $2
  WHERE id = $3 AND status = 'running'`;
