/**
 * Server-sent events to the pages that listen (`GET /events`): each event is
 * a name and one JSON line. A page that stops reading is dropped once its
 * unsent events pass a bound, rather than held in memory without end; the
 * browser's EventSource reconnects by itself.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Unsent bytes past which a listener is dropped: a few hundred snapshots of a small fleet. */
export const MAX_UNSENT_BYTES = 4 * 1024 * 1024;
/** How soon a browser reconnects after the stream ended. */
const RETRY_MS = 1_000;

export class EventStream {
  readonly #listeners = new Set<ServerResponse>();

  get size(): number {
    return this.#listeners.size;
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
      if (res.writableLength > MAX_UNSENT_BYTES) {
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
