import { parseHeartbeat, systemClock, VirtualClock, type WorkerInfo } from '@ringcast/protocol';
import { describe, expect, it } from 'vitest';
import {
  applyHeartbeat,
  HeartbeatProbe,
  type Liveness,
  readRegistry,
  waitsForAck,
} from './liveness.js';

function info(id: string, fields: Partial<WorkerInfo> = {}): WorkerInfo {
  return {
    id,
    incarnation: `inc-${id}`,
    weight: 1,
    concurrency: 2,
    maxQueue: 2,
    maxMessageBytes: 1024 * 1024,
    heartbeatTtlMs: 3_000,
    handlers: ['echo'],
    host: 'h',
    pid: 1,
    version: '0',
    startedAt: 1,
    ...fields,
  };
}

function liveness(): Liveness {
  return {
    incarnation: 'inc',
    concurrency: 2,
    info: info('w'),
    capacity: 4,
    blockedMs: 0,
    blocked: false,
    stalledMs: 0,
    overdue: 0,
  };
}

describe('waitsForAck', () => {
  it.each([
    ['blocked now', 'inc;b=2000', true],
    ['stalled lately', 'inc;s=800', true],
    ['turning', 'inc', false],
    ['turning, with stuck slots', 'inc;o=2', false],
    ['another incarnation, blocked', 'other;b=2000', false],
    ['no heartbeat', undefined, false],
  ])('%s: %s', (_, value, waits) => {
    expect(waitsForAck(parseHeartbeat(value), 'inc')).toBe(waits);
  });
});

describe('applyHeartbeat', () => {
  it('skips a worker blocked for a reconcile interval, and takes stuck slots off its capacity', () => {
    const w = liveness();
    applyHeartbeat(w, { incarnation: 'inc', blockedMs: 400, stalledMs: 0, overdue: 1 }, 1_000);
    expect(w).toMatchObject({ blockedMs: 400, blocked: false, overdue: 1, capacity: 2 });
    applyHeartbeat(w, { incarnation: 'inc', blockedMs: 1_000, stalledMs: 0, overdue: 2 }, 1_000);
    expect(w).toMatchObject({ blocked: true, overdue: 2, capacity: 0 });
    applyHeartbeat(w, { incarnation: 'inc', blockedMs: 0, stalledMs: 1_200, overdue: 0 }, 1_000);
    expect(w).toMatchObject({ blockedMs: 0, blocked: false, stalledMs: 1_200, capacity: 4 });
  });
});

describe('readRegistry', () => {
  it('pairs entries with heartbeats, and lists the lapsed ones, readable or not', async () => {
    const registry: Record<string, string> = {
      a: JSON.stringify(info('a')),
      b: JSON.stringify(info('b')),
      c: JSON.stringify(info('c')),
      junk: '{"not json',
      'bad id!': '{}',
    };
    const beats: Record<string, string> = { a: 'inc-a;b=500', c: 'a-newer-incarnation' };
    const reads: string[][] = [];
    const read = await readRegistry({
      readRegistry: async () => registry,
      readHeartbeats: async (ids) => {
        reads.push([...ids]);
        return ids.map((id) => beats[id] ?? null);
      },
    });
    expect(reads).toEqual([['a', 'b', 'c', 'junk']]);
    expect(read.invalid).toBe(2);
    expect(read.workers.map((w) => [w.info.id, w.beat?.incarnation, w.beat?.blockedMs])).toEqual([
      ['a', 'inc-a', 500],
      ['b', undefined, undefined],
      ['c', 'a-newer-incarnation', 0],
    ]);
    expect(read.lapsed).toEqual([
      { field: 'b', entry: registry['b'], id: 'b' },
      { field: 'junk', entry: '{"not json', id: 'junk' },
      { field: 'bad id!', entry: '{}', id: undefined },
    ]);
  });
});

describe('HeartbeatProbe', () => {
  it('reads every worker asked for in one turn with one read', async () => {
    const reads: string[][] = [];
    const read = async (ids: readonly string[]) => {
      reads.push([...ids]);
      return ids.map((id) => (id === 'w1' ? 'inc;b=300' : null));
    };
    const probe = new HeartbeatProbe(read, systemClock, 1_000);
    const results = await Promise.all([probe.read('w1'), probe.read('w2'), probe.read('w1')]);
    expect(reads).toEqual([['w1', 'w2']]);
    expect(results).toEqual([
      { ok: true, beat: { incarnation: 'inc', blockedMs: 300, stalledMs: 0, overdue: 0 } },
      { ok: true, beat: undefined },
      { ok: true, beat: { incarnation: 'inc', blockedMs: 300, stalledMs: 0, overdue: 0 } },
    ]);
  });

  it('answers not-ok when Redis fails, does not answer in time, or the read throws', async () => {
    const clock = new VirtualClock();
    const failing = async () => Promise.reject(new Error('down'));
    const failed = new HeartbeatProbe(failing, clock, 1_000).read('w');
    await clock.advance(0);
    expect(await failed).toEqual({ ok: false });
    const silent = () => new Promise<Array<string | null>>(() => undefined);
    const late = new HeartbeatProbe(silent, clock, 20).read('w');
    await clock.advance(19);
    let answered = false;
    void late.then(() => {
      answered = true;
    });
    await clock.advance(0);
    expect(answered).toBe(false);
    await clock.advance(1);
    expect(await late).toEqual({ ok: false });
    const throwing = () => {
      throw new Error('not open');
    };
    const thrown = new HeartbeatProbe(throwing, clock, 20).read('w');
    await clock.advance(0);
    expect(await thrown).toEqual({ ok: false });
  });
});
