import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decode, encodeCompactAck, encodeMessage, frameOverhead } from './codec.js';
import { MAX_BATCH } from './limits.js';
import type { AckMessage, Message } from './messages.js';
import { Outbox, type OutboxSink } from './outbox.js';

interface Sent {
  channel: string;
  frame: string;
  resolve(receivers: number): void;
  reject(error: unknown): void;
}

interface Report {
  channel: string;
  frame: string;
  tags: number[];
  receivers?: number;
  error?: unknown;
}

/** A sink whose publishes stay open until the test answers them (or answer at once with `auto`). */
function fakeSink(auto?: number) {
  const sent: Sent[] = [];
  const published: Report[] = [];
  const failed: Report[] = [];
  const sink: OutboxSink<number> = {
    publish(channel, frame) {
      return new Promise<number>((resolve, reject) => {
        sent.push({ channel, frame, resolve, reject });
        if (auto !== undefined) resolve(auto);
      });
    },
    published(channel, receivers, frame, tags) {
      published.push({ channel, frame, tags, receivers });
    },
    failed(channel, error, frame, tags) {
      failed.push({ channel, frame, tags, error });
    },
  };
  return { sink, sent, published, failed };
}

const ack = (n: number, id = `t-${n}`): AckMessage => ({
  kind: 'ack',
  id,
  token: `tok-${n}`,
  worker: 'w1',
});

function messagesOf(frame: string, maxBytes?: number): Message[] {
  const result = decode(frame, maxBytes === undefined ? {} : { maxBytes });
  if (!result.ok) throw result.error;
  expect(result.rejected).toEqual([]);
  return result.messages;
}

const endOfTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('Outbox', () => {
  it('sends messages for one channel in one turn as one publish', async () => {
    const { sink, sent } = fakeSink(1);
    const outbox = new Outbox(sink, 1024 * 1024);
    for (let i = 0; i < 5; i++) outbox.push('ch:a', encodeMessage(ack(i)), i);
    expect(outbox.pending).toBe(5);
    expect(sent).toHaveLength(0);
    await endOfTurn();
    expect(sent).toHaveLength(1);
    expect(sent[0]!.channel).toBe('ch:a');
    expect(messagesOf(sent[0]!.frame)).toEqual([0, 1, 2, 3, 4].map((i) => ack(i)));
    expect(outbox.pending).toBe(0);
  });

  it('gives each channel its own frame', async () => {
    const { sink, sent } = fakeSink(1);
    const outbox = new Outbox(sink, 1024 * 1024);
    outbox.push('ch:a', encodeMessage(ack(1)), 1);
    outbox.push('ch:b', encodeMessage(ack(2)), 2);
    outbox.push('ch:a', encodeMessage(ack(3)), 3);
    await endOfTurn();
    expect(sent.map((s) => s.channel).sort()).toEqual(['ch:a', 'ch:b']);
    const byChannel = new Map(sent.map((s) => [s.channel, messagesOf(s.frame)]));
    expect(byChannel.get('ch:a')).toEqual([ack(1), ack(3)]);
    expect(byChannel.get('ch:b')).toEqual([ack(2)]);
  });

  it('sends a lone message by the end of the turn', async () => {
    const { sink, sent, published } = fakeSink(1);
    const outbox = new Outbox(sink, 1024 * 1024);
    outbox.push('ch:a', encodeMessage(ack(1)), 1);
    expect(sent).toHaveLength(0);
    await endOfTurn();
    expect(sent).toHaveLength(1);
    expect(messagesOf(sent[0]!.frame)).toEqual([ack(1)]);
    await endOfTurn();
    expect(published).toHaveLength(1);
  });

  it('starts a new batch in the next turn', async () => {
    const { sink, sent } = fakeSink(1);
    const outbox = new Outbox(sink, 1024 * 1024);
    outbox.push('ch:a', encodeMessage(ack(1)), 1);
    await endOfTurn();
    outbox.push('ch:a', encodeMessage(ack(2)), 2);
    await endOfTurn();
    expect(sent.map((s) => messagesOf(s.frame))).toEqual([[ack(1)], [ack(2)]]);
  });

  it('flush() sends at once', () => {
    const { sink, sent } = fakeSink(1);
    const outbox = new Outbox(sink, 1024 * 1024);
    outbox.flush(); // nothing queued: nothing sent
    outbox.push('ch:a', encodeMessage(ack(1)), 1);
    outbox.flush();
    expect(sent).toHaveLength(1);
    expect(outbox.pending).toBe(0);
  });

  it('reports the tags and receivers of each frame to published', async () => {
    const { sink, sent, published, failed } = fakeSink();
    const outbox = new Outbox(sink, 1024 * 1024);
    outbox.push('ch:a', encodeMessage(ack(1)), 1);
    outbox.push('ch:a', encodeMessage(ack(2)), 2);
    outbox.push('ch:b', encodeMessage(ack(3)), 3);
    outbox.flush();
    sent.find((s) => s.channel === 'ch:a')!.resolve(2);
    sent.find((s) => s.channel === 'ch:b')!.resolve(0);
    await outbox.drained();
    expect(failed).toEqual([]);
    expect(published).toHaveLength(2);
    const a = published.find((p) => p.channel === 'ch:a')!;
    expect(a.tags).toEqual([1, 2]);
    expect(a.receivers).toBe(2);
    expect(a.frame).toBe(sent.find((s) => s.channel === 'ch:a')!.frame);
    expect(published.find((p) => p.channel === 'ch:b')).toMatchObject({ tags: [3], receivers: 0 });
  });

  it('reports a rejected publish to failed with its tags', async () => {
    const { sink, sent, published, failed } = fakeSink();
    const outbox = new Outbox(sink, 1024 * 1024);
    outbox.push('ch:a', encodeMessage(ack(1)), 7);
    outbox.push('ch:a', encodeMessage(ack(2)), 8);
    outbox.flush();
    const error = new Error('connection lost');
    sent[0]!.reject(error);
    await outbox.drained();
    expect(published).toEqual([]);
    expect(failed).toEqual([{ channel: 'ch:a', frame: sent[0]!.frame, tags: [7, 8], error }]);
  });

  it('reports a publish that throws instead of rejecting to failed', async () => {
    const published: number[][] = [];
    const failed: Array<{ tags: number[]; error: unknown }> = [];
    const error = new Error('not connected');
    const outbox = new Outbox<number>(
      {
        publish() {
          throw error;
        },
        published: (_c, _r, _f, tags) => published.push(tags),
        failed: (_c, e, _f, tags) => failed.push({ tags, error: e }),
      },
      1024,
    );
    outbox.push('ch:a', encodeMessage(ack(1)), 1);
    expect(() => outbox.flush()).not.toThrow();
    await outbox.drained();
    expect(published).toEqual([]);
    expect(failed).toEqual([{ tags: [1], error }]);
  });

  it('drained() resolves at once when nothing is in flight', async () => {
    const { sink } = fakeSink();
    await new Outbox(sink, 1024).drained();
  });

  it('drained() waits until every publish is answered', async () => {
    const { sink, sent, published, failed } = fakeSink();
    const outbox = new Outbox(sink, 1024 * 1024);
    outbox.push('ch:a', encodeMessage(ack(1)), 1);
    outbox.push('ch:b', encodeMessage(ack(2)), 2);
    let done = false;
    const drained = outbox.drained().then(() => {
      done = true;
    });
    // drained() flushes what was queued.
    expect(sent).toHaveLength(2);
    await endOfTurn();
    expect(done).toBe(false);
    sent[0]!.resolve(1);
    await endOfTurn();
    expect(done).toBe(false);
    sent[1]!.reject(new Error('down'));
    await drained;
    expect(done).toBe(true);
    expect(published).toHaveLength(1);
    expect(failed).toHaveLength(1);
  });

  it('splits a channel batch so no frame exceeds maxBytes', async () => {
    const { sink, sent, published } = fakeSink(1);
    const maxBytes = 300;
    const outbox = new Outbox(sink, maxBytes);
    const messages: AckMessage[] = [];
    for (let i = 0; i < 40; i++) {
      const message = ack(i, `t-${i}-${'é€'.repeat(i % 9)}`);
      messages.push(message);
      outbox.push('ch:a', encodeMessage(message), i);
    }
    await outbox.drained();
    expect(sent.length).toBeGreaterThan(1);
    const received: Message[] = [];
    for (const { frame } of sent) {
      expect(Buffer.byteLength(frame, 'utf8')).toBeLessThanOrEqual(maxBytes);
      received.push(...messagesOf(frame, maxBytes));
    }
    expect(received).toEqual(messages);
    expect(published.flatMap((p) => p.tags)).toEqual(messages.map((_, i) => i));
  });

  it("keeps each channel's frames within the limit its pushes give, not the default", async () => {
    const { sink, sent } = fakeSink(1);
    const outbox = new Outbox(sink, 1_000_000);
    const part = encodeMessage(ack(1));
    const small = frameOverhead(4) + 4 * part.length;
    for (let i = 0; i < 40; i++) {
      outbox.push('ch:small', encodeMessage(ack(i % 10)), i, small);
      outbox.push('ch:large', encodeMessage(ack(i % 10)), i);
    }
    await outbox.drained();
    const frames = (channel: string) => sent.filter((s) => s.channel === channel);
    expect(frames('ch:large')).toHaveLength(1);
    expect(frames('ch:small')).toHaveLength(10);
    for (const { frame } of frames('ch:small')) {
      expect(Buffer.byteLength(frame)).toBeLessThanOrEqual(small);
      expect(messagesOf(frame, small)).toHaveLength(4);
    }
  });

  it('fills a frame up to exactly maxBytes', async () => {
    const { sink, sent } = fakeSink(1);
    const part = encodeMessage(ack(1));
    const maxBytes = frameOverhead(3) + 3 * part.length;
    const outbox = new Outbox(sink, maxBytes);
    for (let i = 0; i < 4; i++) outbox.push('ch:a', part, i);
    await outbox.drained();
    expect(sent.map((s) => messagesOf(s.frame).length)).toEqual([3, 1]);
    expect(sent[0]!.frame.length).toBe(maxBytes);
  });

  it('splits a channel batch so no frame carries more than MAX_BATCH messages', async () => {
    // Small messages under a large byte limit: only the count can split them, and
    // the receiver's decoder refuses a frame of more than MAX_BATCH whole.
    const { sink, sent, published } = fakeSink(1);
    const sender = { worker: 'w1', incarnation: 'inc' };
    const outbox = new Outbox(sink, 512 * 1024 * 1024, sender);
    const total = 2 * MAX_BATCH + 5_000;
    for (let i = 0; i < total; i++) outbox.push('ch:a', encodeCompactAck(`t-${i}`, `t-${i}.1`), i);
    await outbox.drained();
    expect(sent.map((s) => messagesOf(s.frame, 512 * 1024 * 1024).length)).toEqual([
      MAX_BATCH,
      MAX_BATCH,
      5_000,
    ]);
    expect(published.flatMap((p) => p.tags)).toEqual(Array.from({ length: total }, (_, i) => i));
  });

  it('sends a message larger than maxBytes alone (callers check sizes first)', async () => {
    const { sink, sent } = fakeSink(1);
    const outbox = new Outbox(sink, 100);
    outbox.push('ch:a', encodeMessage(ack(1)), 1);
    outbox.push('ch:a', encodeMessage(ack(2, 'x'.repeat(120))), 2);
    outbox.push('ch:a', encodeMessage(ack(3)), 3);
    await outbox.drained();
    expect(sent.map((s) => messagesOf(s.frame).map((m) => (m as AckMessage).token))).toEqual([
      ['tok-1'],
      ['tok-2'],
      ['tok-3'],
    ]);
  });

  it('property: frames stay under maxBytes and carry every message once, in order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 120, max: 2000 }),
        fc.array(
          fc.record({
            channel: fc.constantFrom('a', 'b', 'c'),
            id: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }),
          }),
          { maxLength: 60 },
        ),
        async (maxBytes, items) => {
          const { sink, sent } = fakeSink(1);
          const outbox = new Outbox(sink, maxBytes);
          const expected = new Map<string, Message[]>();
          items.forEach(({ channel, id }, i) => {
            const message = ack(i, id);
            const encoded = encodeMessage(message);
            if (Buffer.byteLength(encoded) + frameOverhead(1) > maxBytes) return;
            outbox.push(channel, encoded, i);
            expected.set(channel, [...(expected.get(channel) ?? []), message]);
          });
          await outbox.drained();
          const got = new Map<string, Message[]>();
          for (const { channel, frame } of sent) {
            expect(Buffer.byteLength(frame, 'utf8')).toBeLessThanOrEqual(maxBytes);
            got.set(channel, [...(got.get(channel) ?? []), ...messagesOf(frame, maxBytes)]);
          }
          expect(got).toEqual(expected);
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('Outbox scheduling', () => {
  it('flushes through the scheduler it was given, once per turn', () => {
    const flushes: Array<() => void> = [];
    const frames: string[] = [];
    const outbox = new Outbox<number>(
      {
        publish: (_channel, frame) => {
          frames.push(frame);
          return Promise.resolve(1);
        },
        published: () => undefined,
        failed: () => undefined,
      },
      1 << 20,
      undefined,
      (flush) => flushes.push(flush),
    );
    outbox.push('c', encodeMessage({ kind: 'ack', id: 'a', token: 'a.1', worker: 'w' }), 1);
    outbox.push('c', encodeMessage({ kind: 'ack', id: 'b', token: 'b.1', worker: 'w' }), 2);
    expect(flushes).toHaveLength(1);
    expect(frames).toHaveLength(0);
    flushes[0]!();
    expect(frames).toHaveLength(1);
    expect(decode(frames[0]!).ok).toBe(true);
  });
});
