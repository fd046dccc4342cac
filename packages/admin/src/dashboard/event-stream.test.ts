import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { EventStream, frame, MAX_UNSENT_BYTES } from './event-stream.js';

/** A response that keeps what it was sent and how much of it the client has not read. */
class FakeResponse extends EventEmitter {
  written: string[] = [];
  writableLength = 0;
  destroyed = false;
  ended = false;
  writeHead(): this {
    return this;
  }
  write(text: string): boolean {
    this.written.push(text);
    return true;
  }
  end(): void {
    this.ended = true;
  }
  destroy(): void {
    this.destroyed = true;
  }
}

function listener(stream: EventStream) {
  const req = new EventEmitter();
  const res = new FakeResponse();
  stream.open(req as IncomingMessage, res as unknown as ServerResponse, [['hello', 1]]);
  return { req, res };
}

describe('EventStream', () => {
  it('sends each event to every listener, after the ones it opened with', () => {
    const stream = new EventStream();
    const a = listener(stream);
    const b = listener(stream);
    stream.send('tick', { n: 2 });
    for (const { res } of [a, b]) {
      expect(res.written).toEqual(['retry: 1000\n\n', frame('hello', 1), frame('tick', { n: 2 })]);
    }
  });

  it('forgets a listener that went, and drops one that stopped reading', () => {
    const stream = new EventStream();
    const gone = listener(stream);
    const slow = listener(stream);
    const fine = listener(stream);
    gone.req.emit('close');
    slow.res.writableLength = MAX_UNSENT_BYTES + 1;
    stream.send('tick', 1);
    expect(stream.size).toBe(1);
    expect(slow.res.destroyed).toBe(true);
    expect(gone.res.written).toHaveLength(2);
    expect(fine.res.written.at(-1)).toBe(frame('tick', 1));
  });

  it('ends every stream when closed', () => {
    const stream = new EventStream();
    const { res } = listener(stream);
    stream.close();
    expect([res.ended, stream.size]).toEqual([true, 0]);
  });
});
