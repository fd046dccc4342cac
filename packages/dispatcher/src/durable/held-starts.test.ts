import { VirtualClock } from '@ringcast/protocol';
import { describe, expect, it } from 'vitest';
import { type HeldStart, HeldStarts, STARTED_HOLD_MS, type StartedOp } from './held-starts.js';

function op(id: string, attempt = 1, owner = 'd1'): StartedOp {
  return { id, key: `ns:task:${id}`, owner, attempt, worker: 'w1', now: 0 };
}

function harness() {
  const clock = new VirtualClock();
  const written: string[] = [];
  const held = new HeldStarts(clock, (start: HeldStart) => {
    written.push(`${start.op.id}#${start.op.attempt}`);
    start.resolve('started');
  });
  return { clock, written, held };
}

describe('HeldStarts', () => {
  it('writes a start on its own once held its full time, in the order held', async () => {
    const { clock, written, held } = harness();
    const first = held.hold(op('a'));
    await clock.advance(STARTED_HOLD_MS / 2);
    held.hold(op('b'));
    await clock.advance(STARTED_HOLD_MS / 2 - 1);
    expect(written).toEqual([]);
    await clock.advance(1);
    expect(written).toEqual(['a#1']);
    expect(await first).toBe('started');
    await clock.advance(STARTED_HOLD_MS / 2);
    expect(written).toEqual(['a#1', 'b#1']);
  });

  it('gives a start to the settle of its owner, writing nothing', async () => {
    const { clock, written, held } = harness();
    held.hold(op('a'));
    const taken = held.take('a', 'd1');
    expect(taken?.op).toEqual(op('a'));
    await clock.advance(STARTED_HOLD_MS * 2);
    expect(written).toEqual([]);
    expect(held.take('a', 'd1')).toBeUndefined();
  });

  it('writes a start at once before another operation on its task: a release, a settle by someone else, a later attempt', async () => {
    const { written, held } = harness();
    held.hold(op('a'));
    held.release('a');
    held.hold(op('b'));
    expect(held.take('b', undefined)).toBeUndefined();
    held.hold(op('c'));
    held.hold(op('c', 2));
    expect(written).toEqual(['a#1', 'b#1', 'c#1']);
    held.release('none');
    expect(written).toHaveLength(3);
  });
});
