import { EventEmitter, once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
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

  it('is full at its bound on streams', () => {
    const stream = new EventStream({ maxStreams: 2 });
    listener(stream);
    expect(stream.full).toBe(false);
    const second = listener(stream);
    expect(stream.full).toBe(true);
    second.req.emit('close');
    expect(stream.full).toBe(false);
  });

  it('drops a real client that stops reading once its unsent bytes pass the bound, holding no more than that', async () => {
    const limit = 256 * 1024;
    const stream = new EventStream({ maxUnsentBytes: limit });
    let response: ServerResponse | undefined;
    const server = createServer((req, res) => {
      response = res;
      stream.open(req, res, []);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    // A client that asks for the stream and then never reads a byte of it.
    const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
    client.write('GET /events HTTP/1.1\r\nHost: localhost\r\n\r\n');
    client.pause();
    const clientClosed = once(client, 'close');
    try {
      await expect.poll(() => stream.size).toBe(1);
      const data = 'x'.repeat(64 * 1024);
      const frameBytes = Buffer.byteLength(frame('big', data));
      let held = 0;
      // The kernel's socket buffers fill first; then the response's, until the client is dropped.
      for (let sent = 0; stream.size > 0 && sent < 20_000; sent++) {
        stream.send('big', data);
        held = Math.max(held, response?.writableLength ?? 0);
        await new Promise((resolve) => setImmediate(resolve));
      }
      expect(stream.size).toBe(0);
      expect(response?.destroyed).toBe(true);
      expect(held).toBeGreaterThan(limit);
      expect(held).toBeLessThanOrEqual(limit + frameBytes);
      client.resume();
      await clientClosed;
    } finally {
      client.destroy();
      server.closeAllConnections();
      server.close();
    }
  });

  it('ends every stream when closed', () => {
    const stream = new EventStream();
    const { res } = listener(stream);
    stream.close();
    expect([res.ended, stream.size]).toEqual([true, 0]);
  });
});
