import { describe, expect, it } from 'vitest';
import { names } from './channels.js';

/**
 * What Redis Cluster hashes to pick a key's slot: the part between the first `{`
 * and the next `}` when that part is not empty, else the whole key.
 */
function hashed(key: string): string {
  const open = key.indexOf('{');
  if (open === -1) return key;
  const close = key.indexOf('}', open + 1);
  if (close === -1 || close === open + 1) return key;
  return key.slice(open + 1, close);
}

describe('names with { cluster: true }', () => {
  const n = names('prod', { cluster: true });

  it('puts a worker’s channel and claim key in its id’s slot, a dispatcher’s reply channel and parked key in its', () => {
    expect(n.cluster).toBe(true);
    expect(n.workerChannel('w-1')).toBe('prod:w:{w-1}');
    expect(n.claimKey('w-1')).toBe('prod:claim:{w-1}');
    expect(n.replyChannel('d-1')).toBe('prod:d:{d-1}');
    expect(n.parkedKey('d-1')).toBe('prod:parked:{d-1}');
    expect(hashed(n.workerChannel('w-1'))).toBe('w-1');
    expect(hashed(n.claimKey('w-1'))).toBe('w-1');
    expect(hashed(n.replyChannel('d-1'))).toBe('d-1');
    expect(hashed(n.parkedKey('d-1'))).toBe('d-1');
    // Different ids, different tags: the channels spread over the slots.
    expect(hashed(n.workerChannel('w-2'))).not.toBe(hashed(n.workerChannel('w-1')));
  });

  it('puts everything else in the namespace’s slot, each name still under `<ns>:`', () => {
    const shared = [
      n.controlChannel,
      n.registryKey,
      n.weightsKey,
      n.heartbeatKey('w-1'),
      n.workerStatsKey('w-1'),
      n.dispatcherStatsKey('d-1'),
      n.dispatcherStatsIndexKey,
      n.taskKey('t-1'),
      n.taskKeyPrefix,
      n.backlogKey,
      n.delayedKey,
      n.activeKey('d-1'),
      n.dispatchersKey,
      n.dispatcherHeartbeatKey('d-1'),
      n.settledChannel,
      n.cancelChannel,
    ];
    for (const name of shared) {
      expect(hashed(name), name).toBe('prod');
      expect(name.startsWith('prod:'), name).toBe(true);
    }
    expect(n.taskKey('t-1')).toBe(`${n.taskKeyPrefix}t-1`);
    expect(n.registryKey).toBe('prod:{prod}:workers');
  });

  it('keeps every name distinct from the others', () => {
    const all = [
      n.workerChannel('x'),
      n.replyChannel('x'),
      n.claimKey('x'),
      n.parkedKey('x'),
      n.heartbeatKey('x'),
      n.workerStatsKey('x'),
      n.dispatcherStatsKey('x'),
      n.taskKey('x'),
      n.activeKey('x'),
      n.dispatcherHeartbeatKey('x'),
      n.controlChannel,
      n.registryKey,
      n.weightsKey,
      n.dispatcherStatsIndexKey,
      n.backlogKey,
      n.delayedKey,
      n.dispatchersKey,
      n.settledChannel,
      n.cancelChannel,
    ];
    expect(new Set(all).size).toBe(all.length);
  });

  it('leaves the standalone names as they were: no tags, cluster false', () => {
    const plain = names('prod');
    expect(plain.cluster).toBe(false);
    expect(names('prod', { cluster: false }).workerChannel('w-1')).toBe('prod:w:w-1');
    expect(plain.workerChannel('w-1')).toBe('prod:w:w-1');
    expect(plain.registryKey).toBe('prod:workers');
    expect(plain.taskKeyPrefix).toBe('prod:task:');
  });

  it('checks ids and namespaces as the standalone names do', () => {
    expect(() => n.workerChannel('a}b')).toThrow(/not a valid id/);
    expect(() => names('a{b', { cluster: true })).toThrow(/namespace must match/);
  });
});
