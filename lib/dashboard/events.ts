/**
 * Server-sent events for the dashboard's pages (`GET <prefix>/api/events`):
 * one `queue.subscribe` subscription per dashboard, opened when the first
 * page connects and closed when the last one leaves, fanned out to every
 * open page as `data: {"type","taskId","name","queue"}` lines. Pages
 * refresh from the JSON endpoints when told; they keep polling slowly as a
 * safety net (and at the usual pace where events are unavailable, e.g.
 * behind a buffering proxy).
 *
 * @module
 */
import type { TaskEvent } from "../core/task_events.ts";
import type { Subscription } from "../queue/subscribe.ts";

/** `queue.subscribe` with the listener alone. */
export type Subscribe = (
  listener: (event: TaskEvent) => void,
) => Promise<Subscription>;

/** A comment line every this many ms keeps idle connections open. */
const HEARTBEAT_MS = 5000;

type Client = (chunk: string) => void;

/** The fan-out of one dashboard's subscription to its open pages. */
export class EventHub {
  readonly #subscribe: Subscribe;
  readonly #clients = new Set<Client>();
  #subscription: Promise<Subscription> | undefined;

  constructor(subscribe: Subscribe) {
    this.#subscribe = subscribe;
  }

  #send(event: TaskEvent): void {
    // Only what a page needs to know that something changed: it reads the
    // values themselves from the JSON endpoints.
    const data = JSON.stringify({
      type: event.type,
      taskId: event.taskId,
      name: event.name,
      queue: event.queue,
    });
    for (const client of this.#clients) client(`data: ${data}\n\n`);
  }

  #add(client: Client): void {
    this.#clients.add(client);
    if (this.#subscription === undefined) {
      const subscription = this.#subscribe((event) => this.#send(event));
      this.#subscription = subscription;
      // A failed subscription is tried again by the next page that connects.
      subscription.catch(() => {
        if (this.#subscription === subscription) this.#subscription = undefined;
      });
    }
  }

  #remove(client: Client): void {
    this.#clients.delete(client);
    if (this.#clients.size > 0 || this.#subscription === undefined) return;
    const subscription = this.#subscription;
    this.#subscription = undefined;
    subscription.then((s) => s.close()).catch(() => {});
  }

  /**
   * A new page's stream, once the subscription is registered (every change
   * committed after this resolves is sent); it ends when the page leaves or
   * `signal` aborts.
   *
   * @throws What `subscribe` threw (the stream is then cancelled).
   */
  async open(signal: AbortSignal): Promise<ReadableStream<Uint8Array>> {
    const stream = this.#stream(signal);
    try {
      await this.#subscription;
    } catch (error) {
      await stream.cancel();
      throw error;
    }
    return stream;
  }

  #stream(signal: AbortSignal): ReadableStream<Uint8Array> {
    const encoder = new TextEncoder();
    let client: Client | undefined;
    let timer: ReturnType<typeof setInterval> | undefined;
    const stop = () => {
      if (timer !== undefined) clearInterval(timer);
      if (client !== undefined) this.#remove(client);
      client = undefined;
    };
    return new ReadableStream<Uint8Array>({
      start: (controller) => {
        const write: Client = (chunk) => {
          try {
            controller.enqueue(encoder.encode(chunk));
          } catch {
            stop();
          }
        };
        client = write;
        write("retry: 3000\n: connected\n\n");
        this.#add(write);
        timer = setInterval(() => write(": ping\n\n"), HEARTBEAT_MS);
        signal.addEventListener("abort", () => {
          stop();
          try {
            controller.close();
          } catch {
            // already closed
          }
        }, { once: true });
      },
      cancel: stop,
    });
  }
}
