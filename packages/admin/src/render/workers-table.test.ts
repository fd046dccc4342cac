import { HandlerStatsBook, type WorkerInfo } from '@ringcast/protocol';
import { describe, expect, it } from 'vitest';
import type { ClusterView, LiveWorker } from '../cluster-view.js';
import { workerRows } from '../worker-rows.js';
import { renderWorkers, weightCell } from './workers-table.js';

function worker(id: string, fields: Partial<LiveWorker> = {}, info: Partial<WorkerInfo> = {}) {
  const book = new HandlerStatsBook();
  const live: LiveWorker = {
    id,
    info: {
      id,
      incarnation: `inc-${id}`,
      weight: 4,
      concurrency: 8,
      maxQueue: 8,
      heartbeatTtlMs: 3_000,
      maxMessageBytes: 1_048_576,
      handlers: ['sleep', 'echo'],
      host: 'box-1',
      pid: 4242,
      version: '0.1.0',
      startedAt: 1_700_000_000_000,
      ...info,
    },
    policyWeight: undefined,
    heartbeat: { incarnation: `inc-${id}`, blockedMs: 0, stalledMs: 0, overdue: 0 },
    heartbeatAgeMs: 250,
    report: { incarnation: `inc-${id}`, at: 1, handlers: book.summary(1), inflight: 3, queued: 0 },
    ...fields,
  };
  return live;
}

function view(workers: LiveWorker[], stale = 0): ClusterView {
  return {
    namespace: 'prod',
    readAt: 1,
    workers,
    dispatchers: [],
    stale,
    durable: { waiting: 0, delayed: 0, active: 0, owners: [] },
  };
}

describe('workerRows', () => {
  it('flattens each worker, null where a figure is absent', () => {
    const rows = workerRows(
      view([
        worker('a', {
          heartbeat: { incarnation: 'inc-a', blockedMs: 7, stalledMs: 0, overdue: 2 },
        }),
        worker('b', { report: undefined, heartbeatAgeMs: undefined, policyWeight: 9 }),
      ]),
    );
    expect(rows[0]).toEqual({
      id: 'a',
      weight: 4,
      policyWeight: null,
      concurrency: 8,
      maxQueue: 8,
      inflight: 3,
      queued: 0,
      stuckSlots: 2,
      blockedMs: 7,
      handlers: ['echo', 'sleep'],
      heartbeatAgeMs: 250,
      host: 'box-1',
      pid: 4242,
      version: '0.1.0',
      incarnation: 'inc-a',
      startedAt: 1_700_000_000_000,
    });
    expect(rows[1]).toMatchObject({
      inflight: null,
      queued: null,
      heartbeatAgeMs: null,
      policyWeight: 9,
    });
  });
});

describe('renderWorkers', () => {
  it('prints a row per worker with every column, and the summary line', () => {
    const text = renderWorkers(view([worker('a'), worker('b', { report: undefined })], 1));
    const lines = text.split('\n');
    expect(lines[0]).toMatch(
      /^ID\s+WEIGHT\s+CONCURRENCY\s+IN FLIGHT\s+STUCK\s+HANDLERS\s+HEARTBEAT\s+HOST\s+PID\s+VERSION$/,
    );
    expect(lines[2]).toMatch(
      /^a\s+4\s+8\s+3\s+0\s+echo,sleep\s+250 ms ago\s+box-1\s+4242\s+0\.1\.0$/,
    );
    expect(lines[3]).toMatch(/^b\s+4\s+8\s+-\s+0\s+echo,sleep/);
    expect(lines.at(-1)).toBe(
      '2 live workers; 1 registry entry without a live heartbeat (dead workers, not pruned yet)',
    );
    expect(text).not.toContain('operator');
  });

  it('marks operator weights, and says what the mark means', () => {
    const text = renderWorkers(
      view([worker('a', { policyWeight: 4 }), worker('b', { policyWeight: 9 })]),
    );
    expect(text).toMatch(/\na\s+4\*\s/);
    expect(text).toMatch(/\nb\s+4→9\*\s/);
    expect(text).toContain('* weight set by the operator (ringcast reweight)');
  });

  it('says so when no worker is live', () => {
    expect(renderWorkers(view([]))).toBe('no live workers in namespace prod');
  });

  it('cuts a long handler list', () => {
    const many = Array.from({ length: 20 }, (_, i) => `handler${i}`);
    const text = renderWorkers(view([worker('a', {}, { handlers: many })]));
    expect(text).toContain('handler0,handler1,handler10,handler11,h…');
  });

  it.each([
    [4, null, '4'],
    [7, 7, '7*'],
    [4, 7, '4→7*'],
  ])('weight %i with policy %j reads %s', (weight, policyWeight, cell) => {
    expect(weightCell({ weight, policyWeight })).toBe(cell);
  });
});
