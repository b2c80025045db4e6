/**
 * Several statements in one round trip, as one implicit transaction: the
 * extended query protocol lets a client send Parse/Bind/Execute for each
 * statement and a single Sync at the end. The server runs them in order,
 * each with a fresh snapshot (READ COMMITTED), commits them together at
 * the Sync, and on the first error skips the rest and rolls all of them
 * back. node-postgres sends one Sync per query, so this is a "submittable"
 * (the object `client.query()` accepts in place of a query, as pg-cursor
 * is): it writes the messages itself and receives every reply until the
 * server is ready again.
 *
 * Statements are named and parsed once per connection (the name holds a
 * hash of the text), so the server parses and plans each one once, not per
 * call. Every statement's rows come back as text, undecoded: the callers
 * select one text (JSON) column, so no type parser, the pool owner's
 * included, is involved.
 *
 * @module
 */

/** One statement of a pipeline. */
export interface PipelineStatement {
  /** A prepared statement's name, unique per text on a connection. */
  name: string;
  /** The SQL, with `$1`-style parameters. */
  text: string;
  /** The parameters: numbers, strings, null, arrays of those. */
  values: readonly unknown[];
}

/** The protocol calls of a `pg` connection this module makes. */
interface PgWire {
  parse(message: { name: string; text: string; types: never[] }): void;
  bind(message: {
    portal: string;
    statement: string;
    values: readonly unknown[];
    valueMapper?: (value: unknown) => unknown;
  }): void;
  execute(message: { portal: string; rows: number }): void;
  close(message: { type: "S"; name: string }): void;
  sync(): void;
  parsedStatements: Record<string, string>;
}

/** What a `pg` client must offer for a pipeline (a `pg.Client` does). */
export interface PipelineClient {
  connection?: unknown;
  query(submittable: object): unknown;
}

/** Whether `client` is a `pg.Client` whose wire a pipeline can write. */
export function canPipeline(client: PipelineClient): boolean {
  const wire = client.connection as Partial<PgWire> | undefined;
  return typeof wire?.parse === "function" &&
    typeof wire.bind === "function" && typeof wire.execute === "function" &&
    typeof wire.sync === "function" && typeof wire.close === "function" &&
    typeof wire.parsedStatements === "object";
}

/**
 * Runs `statements` in one round trip, as one transaction.
 *
 * @returns Per statement, its rows, each the row's first column as text
 *   (null for SQL NULL).
 * @throws The server's error for the first statement that failed (all
 *   rolled back), or a connection error.
 */
export function runPipeline(
  client: PipelineClient,
  statements: readonly PipelineStatement[],
): Promise<(string | null)[][]> {
  return new Promise((resolve, reject) => {
    client.query(new Pipeline(statements, resolve, reject));
  });
}

/** The submittable: see the module doc. pg calls its `handle*` methods. */
class Pipeline {
  readonly #statements: readonly PipelineStatement[];
  readonly #resolve: (rows: (string | null)[][]) => void;
  readonly #reject: (error: unknown) => void;
  readonly #rows: (string | null)[][] = [[]];
  #wire: PgWire | undefined;
  /** Statements this pipeline parses: recorded once it has succeeded. */
  readonly #parsed: PipelineStatement[] = [];

  constructor(
    statements: readonly PipelineStatement[],
    resolve: (rows: (string | null)[][]) => void,
    reject: (error: unknown) => void,
  ) {
    this.#statements = statements;
    this.#resolve = resolve;
    this.#reject = reject;
  }

  submit(connection: PgWire): void {
    this.#wire = connection;
    for (const statement of this.#statements) {
      if (connection.parsedStatements[statement.name] !== statement.text) {
        // Close first: a pipeline that failed after this name's Parse
        // succeeded left it on the server unrecorded, and a second Parse
        // of a name is an error. Closing a name that is not there is not.
        connection.close({ type: "S", name: statement.name });
        connection.parse({
          name: statement.name,
          text: statement.text,
          types: [],
        });
        this.#parsed.push(statement);
      }
      connection.bind({
        portal: "",
        statement: statement.name,
        values: statement.values.map(toWire),
      });
      connection.execute({ portal: "", rows: 0 });
    }
    connection.sync();
  }

  handleRowDescription(): void {}

  handleDataRow(message: { fields: (string | null)[] }): void {
    this.#rows[this.#rows.length - 1]!.push(message.fields[0] ?? null);
  }

  handleCommandComplete(): void {
    this.#rows.push([]);
  }

  handleEmptyQuery(): void {
    this.#rows.push([]);
  }

  handlePortalSuspended(): void {}

  handleCopyInResponse(): void {}

  handleCopyData(): void {}

  /**
   * A server error (the server then skips to the Sync and rolls back) or a
   * connection error. pg forgets this submittable before the server's
   * ReadyForQuery, so the promise settles here.
   */
  handleError(error: unknown): void {
    this.#reject(error);
  }

  handleReadyForQuery(): void {
    const wire = this.#wire;
    if (wire !== undefined) {
      for (const { name, text } of this.#parsed) {
        wire.parsedStatements[name] = text;
      }
    }
    this.#rows.pop(); // the empty list opened after the last command
    this.#resolve(this.#rows);
  }
}

/**
 * A parameter as the protocol carries it: text, or null. Arrays become
 * PostgreSQL array literals, their elements quoted.
 */
function toWire(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (Array.isArray(value)) return arrayLiteral(value);
  return String(value);
}

function arrayLiteral(values: readonly unknown[]): string {
  const parts = values.map((value) => {
    if (value === null || value === undefined) return "NULL";
    if (typeof value === "number") return String(value);
    const text = String(value);
    return `"${text.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
  });
  return `{${parts.join(",")}}`;
}
