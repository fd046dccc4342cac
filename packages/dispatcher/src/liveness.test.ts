import { names, parseHeartbeat, type WorkerInfo } from '@ringcast/protocol';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import {
  applyHeartbeat,
  HeartbeatProbe,
  type Liveness,
  PRUNE_BATCH,
  pruneRegistry,
  readRegistry,
  waitsForAck,
} from './liveness.js';

const n = names('t');

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
    const beats: Record<string, string> = {
      [n.heartbeatKey('a')]: 'inc-a;b=500',
      [n.heartbeatKey('c')]: 'a-newer-incarnation',
    };
    const command = {
      hgetall: async () => registry,
      mget: async (keys: string[]) => keys.map((k) => beats[k] ?? null),
    } as unknown as Redis;
    const read = await readRegistry(command, n);
    expect(read.invalid).toBe(2);
    expect(read.workers.map((w) => [w.info.id, w.beat?.incarnation, w.beat?.blockedMs])).toEqual([
      ['a', 'inc-a', 500],
      ['b', undefined, undefined],
      ['c', 'a-newer-incarnation', 0],
    ]);
    expect(read.lapsed).toEqual([
      { field: 'b', entry: registry['b'], heartbeatKey: n.heartbeatKey('b') },
      { field: 'junk', entry: '{"not json', heartbeatKey: n.heartbeatKey('junk') },
      { field: 'bad id!', entry: '{}', heartbeatKey: undefined },
    ]);
  });
});

describe('pruneRegistry', () => {
  it('passes each entry as read, with its key, and at most a batch per round', async () => {
    const calls: unknown[][] = [];
    const command = {
      eval: async (...args: unknown[]) => {
        calls.push(args);
        return 2;
      },
    } as unknown as Redis;
    expect(
      await pruneRegistry(command, n, [
        { field: 'b', entry: 'E', heartbeatKey: 't:hb:b' },
        { field: 'x y', entry: 'F', heartbeatKey: undefined },
      ]),
    ).toBe(2);
    expect(calls[0]!.slice(1)).toEqual([
      3,
      n.registryKey,
      't:hb:b',
      n.registryKey,
      'b',
      'E',
      '1',
      'x y',
      'F',
      '0',
    ]);
    const many = Array.from({ length: PRUNE_BATCH + 5 }, (_, i) => ({
      field: `w${i}`,
      entry: '{}',
      heartbeatKey: `t:hb:w${i}`,
    }));
    await pruneRegistry(command, n, many);
    expect(calls[1]![1]).toBe(PRUNE_BATCH + 1);
    expect(await pruneRegistry(command, n, [])).toBe(0);
    expect(calls).toHaveLength(2);
  });
});

describe('HeartbeatProbe', () => {
  it('reads every key asked for in one turn with one MGET', async () => {
    const reads: string[][] = [];
    const command = {
      mget: async (keys: string[]) => {
        reads.push(keys);
        return keys.map((k) => (k === 'k1' ? 'inc;b=300' : null));
      },
    } as unknown as Redis;
    const probe = new HeartbeatProbe(() => command, 1_000);
    const results = await Promise.all([probe.read('k1'), probe.read('k2'), probe.read('k1')]);
    expect(reads).toEqual([['k1', 'k2']]);
    expect(results).toEqual([
      { ok: true, beat: { incarnation: 'inc', blockedMs: 300, stalledMs: 0, overdue: 0 } },
      { ok: true, beat: undefined },
      { ok: true, beat: { incarnation: 'inc', blockedMs: 300, stalledMs: 0, overdue: 0 } },
    ]);
  });

  it('answers not-ok when Redis fails, does not answer in time, or is not connected', async () => {
    const failing = { mget: async () => Promise.reject(new Error('down')) } as unknown as Redis;
    expect(await new HeartbeatProbe(() => failing, 1_000).read('k')).toEqual({ ok: false });
    const silent = { mget: () => new Promise(() => undefined) } as unknown as Redis;
    expect(await new HeartbeatProbe(() => silent, 20).read('k')).toEqual({ ok: false });
    expect(await new HeartbeatProbe(() => undefined, 20).read('k')).toEqual({ ok: false });
  });
});
