/**
 * `toNodeListener`: runs a Web-standard handler (such as the dashboard) as
 * a `node:http` request listener, for Node's `http.createServer` and the
 * frameworks built on it (Express, Fastify's raw server, Koa's callback).
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from "node:http";

/** A `node:http` request listener. */
export type NodeListener = (
  request: IncomingMessage,
  response: ServerResponse,
) => void;

/** The body of a Node request, read to the end (none for GET/HEAD). */
async function readBody(
  request: IncomingMessage,
): Promise<Uint8Array<ArrayBuffer> | undefined> {
  if (request.method === "GET" || request.method === "HEAD") return undefined;
  const chunks: Uint8Array[] = [];
  for await (const chunk of request) {
    chunks.push(
      typeof chunk === "string"
        ? new TextEncoder().encode(chunk)
        : chunk as Uint8Array,
    );
  }
  const length = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  const body = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) {
    body.set(chunk, at);
    at += chunk.length;
  }
  return body;
}

/**
 * The Web `Request` a Node request describes, with `signal` as its abort
 * signal (for handlers that stream until the client leaves).
 */
export async function toWebRequest(
  request: IncomingMessage,
  signal?: AbortSignal,
): Promise<Request> {
  const secure = (request.socket as { encrypted?: boolean }).encrypted === true;
  const host = request.headers.host ?? "localhost";
  const url = new URL(
    request.url ?? "/",
    `${secure ? "https" : "http"}://${host}`,
  );
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) {
      headers.append(name, one);
    }
  }
  const body = await readBody(request);
  return new Request(url, {
    method: request.method ?? "GET",
    headers,
    body: body === undefined || body.length === 0 ? undefined : body,
    signal,
  });
}

/**
 * Adapts `handler` to `node:http`: builds a `Request` from the Node request
 * (URL from the Host header; body read whole, which suits forms; a signal
 * that aborts when the client leaves), writes the `Response`'s status,
 * headers (each `set-cookie` apart) and body, streamed with back-pressure.
 * Errors end the response with a 500.
 *
 * @example
 * ```ts
 * import { createServer } from "node:http";
 * import { QueueAdmin, SQLiteBackend } from "sitq";
 * import { createDashboard, toNodeListener } from "sitq/dashboard";
 *
 * const admin = new QueueAdmin(new SQLiteBackend(":memory:"));
 * const server = createServer(toNodeListener(createDashboard(admin)));
 * server.listen(0, "127.0.0.1", () => server.close(() => admin.close()));
 * ```
 *
 * @param handler A `(request: Request) => Response | Promise<Response>`.
 * @returns A listener for `http.createServer(listener)`.
 */
export function toNodeListener(
  handler: (request: Request) => Response | Promise<Response>,
): NodeListener {
  return (request, response) => {
    // The client leaving ends a streamed answer (server-sent events).
    const gone = new AbortController();
    response.once("close", () => gone.abort());
    (async () => {
      const answer = await handler(await toWebRequest(request, gone.signal));
      const cookies = answer.headers.getSetCookie?.() ?? [];
      const headers: Record<string, string | string[]> = {};
      answer.headers.forEach((value, name) => {
        if (name !== "set-cookie") headers[name] = value;
      });
      if (cookies.length > 0) headers["set-cookie"] = cookies;
      response.writeHead(answer.status, headers);
      if (answer.body === null || request.method === "HEAD") {
        response.end();
        return;
      }
      const reader = answer.body.getReader();
      gone.signal.addEventListener("abort", () => {
        reader.cancel().catch(() => {});
      }, { once: true });
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        // Back-pressure: wait for the socket to drain before the next chunk.
        if (!response.write(value)) {
          await new Promise((resolve) => {
            response.once("drain", resolve);
            response.once("close", resolve);
          });
        }
      }
      response.end();
    })().catch((error: unknown) => {
      if (!response.headersSent) {
        response.writeHead(500, {
          "content-type": "text/plain; charset=utf-8",
        });
      }
      response.end(
        `Internal error: ${
          error instanceof Error ? error.message : String(error)
        }`,
      );
    });
  };
}
