/**
 * Server-sent events to the pages that listen (`GET /events`): each event is
 * a name and one JSON line. Memory stays bounded whatever the clients do: at
 * most {@link MAX_EVENT_STREAMS} listen at once (the server answers 503
 * beyond), and a client that stops reading is dropped once the bytes it has
 * not taken (the response's and its socket's buffers) pass
 * {@link MAX_UNSENT_BYTES}, rather than held in memory without end; the
 * browser's EventSource reconnects by itself.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Unsent bytes past which a listener is dropped: a few hundred snapshots of a small fleet. */
export const MAX_UNSENT_BYTES = 4 * 1024 * 1024;
/** Streams open at once: one per open page, so far more than a team keeps open. */
export const MAX_EVENT_STREAMS = 100;
/** How soon a browser reconnects after the stream ended. */
const RETRY_MS = 1_000;

export interface EventStreamLimits {
  /** @defaultValue {@link MAX_EVENT_STREAMS} */
  maxStreams?: number;
  /** @defaultValue {@link MAX_UNSENT_BYTES} */
  maxUnsentBytes?: number;
}

export class EventStream {
  readonly #listeners = new Set<ServerResponse>();
  readonly #maxStreams: number;
  readonly #maxUnsentBytes: number;

  constructor(limits: EventStreamLimits = {}) {
    this.#maxStreams = limits.maxStreams ?? MAX_EVENT_STREAMS;
    this.#maxUnsentBytes = limits.maxUnsentBytes ?? MAX_UNSENT_BYTES;
  }

  get size(): number {
    return this.#listeners.size;
  }

  /** Whether another stream would pass the bound: the server answers 503 instead. */
  get full(): boolean {
    return this.#listeners.size >= this.#maxStreams;
  }

  /** Answers `req` with an event stream that starts with `first` (name, data) events. */
  open(req: IncomingMessage, res: ServerResponse, first: ReadonlyArray<[string, unknown]>): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    res.write(`retry: ${RETRY_MS}\n\n`);
    for (const [name, data] of first) res.write(frame(name, data));
    this.#listeners.add(res);
    const drop = () => this.#listeners.delete(res);
    req.once('close', drop);
    res.once('close', drop);
  }

  send(name: string, data: unknown): void {
    if (this.#listeners.size === 0) return;
    const text = frame(name, data);
    for (const res of this.#listeners) {
      // writableLength counts what the socket holds too: what the client has not taken.
      if (res.writableLength > this.#maxUnsentBytes) {
        this.#listeners.delete(res);
        res.destroy();
        continue;
      }
      res.write(text);
    }
  }

  /** Ends every stream. */
  close(): void {
    for (const res of this.#listeners) res.end();
    this.#listeners.clear();
  }
}

/** One event; JSON has no raw newline, so the data is one `data:` line. */
export function frame(name: string, data: unknown): string {
  return `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
}
