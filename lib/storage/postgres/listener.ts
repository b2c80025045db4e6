/**
 * The LISTEN side of PostgreSQL's push wake-ups (step 3 of the wake-up path
 * in `../change_feed.ts`): one dedicated connection per backend that
 * LISTENs on the schema's channel, reconnects by itself, and turns what it
 * hears into a flag that the dialect's probe reads without a query.
 *
 * - A notification sent by another backend (its payload's `origin` is not
 *   ours) raises the flag and tells the feed at once (`onWrite`). Our own
 *   are ignored: this process's subscribers heard of those writes already.
 * - A lost connection raises the flag (a commit may go unheard until LISTEN
 *   is back), tells the feed (`onLost`, so it polls at its unwatched rate),
 *   and starts reconnecting, at doubling pauses from 100 ms to 2 s.
 * - A connection made again raises the flag too (whatever was committed
 *   while it was down was not heard) and tells the feed, which probes at
 *   once, hears "changed", and watches again.
 *
 * The feed's watch is a synchronous start that returns a stop function or
 * undefined ("cannot watch"; the feed then says so once and never asks
 * again). So the connection starts earlier, from the dialect's first probe,
 * which can wait for it; {@linkcode ChangeListener.watch} then knows whether
 * LISTEN ever worked. When it never did, the listener keeps trying, and
 * once it succeeds it calls the feed's `onLost` (which makes the feed ask
 * for the watch again) and `onWrite` (which makes it probe now): push
 * wake-ups come back by themselves.
 *
 * @module
 */
import type { PgClient, PgNotification } from "./open_pg.ts";

/** The first pause before reconnecting, in ms; it doubles on each failure. */
const FIRST_RETRY_MS = 100;
/** The longest pause between two reconnects, in ms. */
const MAX_RETRY_MS = 2000;

/** How the listener connects and what it listens to. */
export interface ChangeListenerOptions {
  /** The channel, an identifier of at most 63 bytes. */
  channel: string;
  /** This backend's id in notification payloads. */
  origin: string;
  /** Makes a new, unconnected client (throws if none can be made). */
  newClient: () => PgClient | Promise<PgClient>;
}

/** The feed's callbacks (see `WriteWatcher` in `../change_feed.ts`). */
interface FeedHooks {
  onWrite: () => void;
  onLost: () => void;
}

/** One LISTEN connection that reconnects by itself. */
export class ChangeListener {
  readonly #options: ChangeListenerOptions;
  #client: PgClient | undefined;
  #live = false;
  #everLive = false;
  #closed = false;
  #changed = false;
  #starting: Promise<void> | undefined;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #retryPause = FIRST_RETRY_MS;
  #hooks: FeedHooks | undefined;
  /** Whether the feed holds a live watch (its stop function not called). */
  #attached = false;

  /** @param options The channel, our origin, and how to make a client. */
  constructor(options: ChangeListenerOptions) {
    this.#options = options;
  }

  /** Whether LISTEN is in force now. */
  get live(): boolean {
    return this.#live;
  }

  /**
   * Makes the first connection, once; later calls return the same promise.
   * Resolves when LISTEN is in force or the try failed (reconnects then go
   * on in the background); never rejects.
   */
  start(): Promise<void> {
    this.#starting ??= this.#connect();
    return this.#starting;
  }

  /**
   * Whether something may have changed since the last call: a notification
   * from another backend, or a connection lost or made again. Reading it
   * lowers it.
   */
  takeChanged(): boolean {
    const changed = this.#changed;
    this.#changed = false;
    return changed;
  }

  /**
   * The feed's watch: keeps `onWrite` and `onLost`, and returns a stop
   * function unless LISTEN has never worked (undefined: the feed polls and
   * says so once). While reconnecting after a loss it still returns one:
   * the reconnect tells the feed.
   */
  watch(onWrite: () => void, onLost: () => void): (() => void) | undefined {
    this.#hooks = { onWrite, onLost };
    if (!this.#everLive || this.#closed) {
      this.#attached = false;
      return undefined;
    }
    this.#attached = true;
    return () => {
      // The feed stops watching while this process writes (see
      // OWN_WRITE_QUIET_MS); the connection stays, so a new watch is free.
      this.#attached = false;
    };
  }

  /** Ends the connection for good; safe to call more than once. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#live = false;
    this.#hooks = undefined;
    this.#attached = false;
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => {});
  }

  async #connect(): Promise<void> {
    if (this.#closed) return;
    let client: PgClient;
    try {
      client = await this.#options.newClient();
    } catch {
      this.#scheduleReconnect();
      return;
    }
    // Handlers first: `pg` throws an 'error' nobody listens to.
    let ended = false;
    const lost = () => {
      if (ended) return;
      ended = true;
      this.#onLost(client);
    };
    client.on("error", lost);
    client.on("end", lost);
    client.on("notification", (message) => this.#onNotification(message));
    try {
      await client.connect();
      await client.query(`listen "${this.#options.channel}"`);
    } catch {
      ended = true;
      await client.end().catch(() => {});
      this.#scheduleReconnect();
      return;
    }
    if (this.#closed || ended) {
      // Closed meanwhile, or the connection died right after LISTEN.
      await client.end().catch(() => {});
      if (!this.#closed) this.#scheduleReconnect();
      return;
    }
    this.#client = client;
    this.#live = true;
    this.#retryPause = FIRST_RETRY_MS;
    this.#everLive = true;
    // Commits made while LISTEN was not in force were not heard.
    this.#changed = true;
    const hooks = this.#hooks;
    if (hooks === undefined) return;
    // The feed holds no watch when LISTEN never worked when it asked (it
    // then never asks again by itself) or after a loss: its onLost makes
    // it ask again at its next probe. onWrite makes that probe come now.
    if (!this.#attached) hooks.onLost();
    hooks.onWrite();
  }

  #onNotification(message: PgNotification): void {
    if (message.channel !== this.#options.channel) return;
    if (originOf(message.payload) === this.#options.origin) return;
    this.#changed = true;
    if (this.#attached) this.#hooks?.onWrite();
  }

  #onLost(client: PgClient): void {
    if (this.#client !== client) return;
    this.#client = undefined;
    this.#live = false;
    client.end().catch(() => {});
    if (this.#closed) return;
    this.#changed = true;
    if (this.#attached) {
      this.#attached = false;
      this.#hooks?.onLost();
    }
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    if (this.#closed || this.#retryTimer !== undefined) return;
    const pause = this.#retryPause;
    this.#retryPause = Math.min(MAX_RETRY_MS, pause * 2);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      void this.#connect();
    }, pause);
  }
}

/** The `origin` of a payload written by {@linkcode notificationPayload}. */
function originOf(payload: string | undefined): string | undefined {
  if (payload === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(payload);
    return typeof parsed === "object" && parsed !== null &&
        "origin" in parsed && typeof parsed.origin === "string"
      ? parsed.origin
      : undefined;
  } catch {
    return undefined; // someone else's message on our channel: a hint anyway
  }
}

/**
 * The payload of a notification: who sent it and what changed, e.g.
 * `{"origin":"k3x9…","changes":["enqueued"]}`. Receivers only need the
 * origin (none: every listener takes it as another's); the change types
 * help whoever watches the channel with `psql`.
 */
export function notificationPayload(
  origin: string | undefined,
  changes: readonly { type: string }[],
): string {
  return JSON.stringify({
    origin,
    changes: changes.map((change) => change.type),
  });
}
