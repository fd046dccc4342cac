import { describe, expect, it } from 'vitest';
import { DEFAULT_NAMESPACE, isValidNamespace, names } from './channels.js';
import { ErrorCode, RingcastError } from './errors.js';

function all(n: ReturnType<typeof names>, workerId: string, dispatcherId: string): string[] {
  return [
    n.workerChannel(workerId),
    n.replyChannel(dispatcherId),
    n.controlChannel,
    n.registryKey,
    n.weightsKey,
    n.heartbeatKey(workerId),
    n.workerStatsKey(workerId),
    n.dispatcherStatsKey(dispatcherId),
    n.dispatcherStatsIndexKey,
    n.parkedKey(dispatcherId),
    n.claimKey(workerId),
    n.taskKey(workerId),
    n.backlogKey,
    n.delayedKey,
    n.activeKey(dispatcherId),
    n.dispatchersKey,
    n.dispatcherHeartbeatKey(dispatcherId),
    n.settledChannel,
    n.cancelChannel,
  ];
}

function thrown(fn: () => unknown): RingcastError {
  try {
    fn();
  } catch (error) {
    if (error instanceof RingcastError) return error;
    throw error;
  }
  throw new Error('expected a RingcastError');
}

describe('names', () => {
  it('uses the default namespace when none is given', () => {
    const n = names();
    expect(DEFAULT_NAMESPACE).toBe('ringcast');
    expect(n.namespace).toBe('ringcast');
    expect(n.workerChannel('w1')).toBe('ringcast:w:w1');
    expect(n.replyChannel('d1')).toBe('ringcast:d:d1');
    expect(n.controlChannel).toBe('ringcast:ctl');
    expect(n.registryKey).toBe('ringcast:workers');
    expect(n.weightsKey).toBe('ringcast:weights');
    expect(n.heartbeatKey('w1')).toBe('ringcast:hb:w1');
    expect(n.workerStatsKey('w1')).toBe('ringcast:wstats:w1');
    expect(n.dispatcherStatsKey('d1')).toBe('ringcast:dstats:d1');
    expect(n.dispatcherStatsIndexKey).toBe('ringcast:dstats');
    expect(n.parkedKey('d1')).toBe('ringcast:parked:d1');
    expect(n.claimKey('w1')).toBe('ringcast:claim:w1');
    expect(n.taskKey('t1')).toBe('ringcast:task:t1');
    expect(n.taskKeyPrefix).toBe('ringcast:task:');
    expect(n.backlogKey).toBe('ringcast:backlog');
    expect(n.delayedKey).toBe('ringcast:delayed');
    expect(n.activeKey('d1')).toBe('ringcast:active:d1');
    expect(n.dispatchersKey).toBe('ringcast:dispatchers');
    expect(n.dispatcherHeartbeatKey('d1')).toBe('ringcast:dhb:d1');
    expect(n.settledChannel).toBe('ringcast:settled');
    expect(n.cancelChannel).toBe('ringcast:cancel');
  });

  it('builds every task key from the task key prefix', () => {
    const n = names('tenant:a');
    for (const id of ['t', 'a.b-c_9', 'x'.repeat(128)]) {
      expect(n.taskKey(id)).toBe(n.taskKeyPrefix + id);
    }
  });

  it('uses a custom namespace', () => {
    const n = names('app:test-1');
    expect(n.namespace).toBe('app:test-1');
    expect(n.workerChannel('w.1')).toBe('app:test-1:w:w.1');
    expect(n.controlChannel).toBe('app:test-1:ctl');
  });

  it.each(['default', 'tenant:a.b_c-9', 'x'])(
    'every name in %j starts with the prefix and differs',
    (ns) => {
      // The same id as worker and dispatcher must still give distinct names.
      const list = all(names(ns), 'same', 'same');
      for (const name of list) expect(name.startsWith(`${ns}:`)).toBe(true);
      expect(new Set(list).size).toBe(list.length);
    },
  );

  it.each(['', 'has space', 'slash/ns', 'a'.repeat(65), 'ümlaut', 'star*'])(
    'rejects the namespace %j with INVALID_OPTIONS',
    (ns) => {
      const error = thrown(() => names(ns));
      expect(error.code).toBe(ErrorCode.INVALID_OPTIONS);
      expect(isValidNamespace(ns)).toBe(false);
    },
  );

  it('rejects a non-string namespace', () => {
    expect(thrown(() => names(42 as unknown as string)).code).toBe(ErrorCode.INVALID_OPTIONS);
    expect(isValidNamespace(undefined)).toBe(false);
  });

  it('accepts a 64-character namespace', () => {
    expect(names('n'.repeat(64)).namespace).toHaveLength(64);
  });

  it.each(['', 'a:b', 'a b', 'a/b', '*', 'x'.repeat(129)])(
    'rejects the id %j in every id-taking name',
    (id) => {
      const n = names();
      const idNames = [
        n.workerChannel,
        n.replyChannel,
        n.heartbeatKey,
        n.workerStatsKey,
        n.dispatcherStatsKey,
        n.parkedKey,
        n.claimKey,
        n.taskKey,
        n.activeKey,
        n.dispatcherHeartbeatKey,
      ];
      for (const fn of idNames) {
        const error = thrown(() => fn(id));
        expect(error.code).toBe(ErrorCode.INVALID_OPTIONS);
      }
    },
  );

  it('accepts a 128-character id', () => {
    const id = 'x'.repeat(128);
    expect(names().workerChannel(id)).toBe(`ringcast:w:${id}`);
  });
});
