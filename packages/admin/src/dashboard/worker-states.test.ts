import { describe, expect, it } from 'vitest';
import { clusterView, liveWorker, workerInfo } from '../testing/views.js';
import { beatState, GONE_SHOWN_MS, heartbeatIntervalOf, WorkerStates } from './worker-states.js';

const states = (tracker: WorkerStates) => tracker.list().map((t) => [t.worker.id, t.state]);

describe('heartbeatIntervalOf', () => {
  it('is the advertised interval, else a third of the TTL, else unknown', () => {
    expect(heartbeatIntervalOf(workerInfo('a', { heartbeatIntervalMs: 200 }))).toBe(200);
    const older = workerInfo('a', { heartbeatTtlMs: 3_000 });
    delete older.heartbeatIntervalMs;
    expect(heartbeatIntervalOf(older)).toBe(1_000);
    expect(heartbeatIntervalOf({ ...older, heartbeatTtlMs: 0 })).toBeUndefined();
  });
});

describe('beatState', () => {
  it.each([
    [0, 1_000, 'live'],
    [1_500, 1_000, 'live'],
    [1_501, 1_000, 'missing'],
    [400, 200, 'missing'],
    [undefined, 1_000, 'live'],
    [5_000, undefined, 'live'],
  ] as const)('a heartbeat %j ms old, every %j ms, is %s', (age, interval, state) => {
    expect(beatState(age, interval)).toBe(state);
  });
});

describe('WorkerStates', () => {
  it('lists read workers as live or missing by heartbeat age, live first', () => {
    const tracker = new WorkerStates();
    tracker.observe(
      clusterView([
        liveWorker('b', { ageMs: 1_600 }),
        liveWorker('c', { ageMs: 200 }),
        liveWorker('a', { ageMs: 900 }),
      ]),
      10_000,
    );
    expect(states(tracker)).toEqual([
      ['a', 'live'],
      ['c', 'live'],
      ['b', 'missing'],
    ]);
  });

  it('keeps a worker that vanished from the reads as gone for a minute, then drops it', () => {
    const tracker = new WorkerStates();
    tracker.observe(clusterView([liveWorker('a'), liveWorker('b')]), 10_000);
    tracker.observe(clusterView([liveWorker('a')]), 11_000);
    expect(states(tracker)).toEqual([
      ['a', 'live'],
      ['b', 'gone'],
    ]);
    expect(tracker.list()[1]?.goneAt).toBe(11_000);
    // Still listed just short of a minute, with the time it went unchanged.
    tracker.observe(clusterView([liveWorker('a')]), 11_000 + GONE_SHOWN_MS - 1);
    expect(tracker.list()[1]).toMatchObject({ state: 'gone', goneAt: 11_000 });
    tracker.observe(clusterView([liveWorker('a')]), 11_000 + GONE_SHOWN_MS);
    expect(states(tracker)).toEqual([['a', 'live']]);
  });

  it('shows a gone worker live again when it comes back', () => {
    const tracker = new WorkerStates();
    tracker.observe(clusterView([liveWorker('a')]), 10_000);
    tracker.observe(clusterView([]), 11_000);
    tracker.observe(
      clusterView([liveWorker('a', { info: { incarnation: 'a-2', pid: 200 } })]),
      12_000,
    );
    expect(tracker.list()).toMatchObject([
      { state: 'live', goneAt: null, worker: { info: { incarnation: 'a-2', pid: 200 } } },
    ]);
  });

  it('watches the workers not gone, and tells when probed heartbeats would change a state', () => {
    const tracker = new WorkerStates();
    tracker.observe(clusterView([liveWorker('a'), liveWorker('b', { ageMs: 2_000 })]), 10_000);
    tracker.observe(clusterView([liveWorker('a'), liveWorker('b', { ageMs: 2_000 })]), 10_100);
    expect(tracker.watched().map((w) => w.id)).toEqual(['a', 'b']);
    const probe = (
      entries: Array<[string, { expired: true } | { expired: false; ageMs: number }]>,
    ) => tracker.changedBy(new Map(entries));
    expect(probe([['a', { expired: false, ageMs: 900 }]])).toBe(false);
    expect(probe([['b', { expired: false, ageMs: 2_500 }]])).toBe(false);
    expect(probe([['a', { expired: false, ageMs: 1_600 }]])).toBe(true);
    expect(probe([['b', { expired: false, ageMs: 100 }]])).toBe(true);
    expect(probe([['a', { expired: true }]])).toBe(true);
    expect(probe([['unknown', { expired: true }]])).toBe(false);

    tracker.observe(clusterView([liveWorker('a')]), 10_200);
    expect(tracker.watched().map((w) => w.id)).toEqual(['a']);
    expect(probe([['b', { expired: true }]])).toBe(false);
  });
});
