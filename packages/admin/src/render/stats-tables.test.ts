import { HandlerStatsBook, type WorkerReport } from '@ringcast/protocol';
import { describe, expect, it } from 'vitest';
import type { ClusterView, LiveWorker, ReportingDispatcher } from '../cluster-view.js';
import { statsReport } from '../stats-report.js';
import { renderStats } from './stats-tables.js';

const NOW = 1_700_000_000_000;

/** `runs` (`[handler, ms, failure code?]`) as a report would show them. */
function reportOf(
  incarnation: string,
  runs: Array<[string, number, string?]>,
  idle: string[] = [],
) {
  const book = new HandlerStatsBook();
  for (const handler of idle) book.of(handler);
  for (const [handler, ms, code] of runs) book.of(handler).record(ms, code, false, NOW - 500);
  return { incarnation, at: NOW, handlers: book.summary(NOW), histograms: book.histograms() };
}

/** A dispatcher whose report shows the calls `runs` settled. */
function dispatcher(id: string, runs: Array<[string, number, string?]>): ReportingDispatcher {
  return { id, report: reportOf(id, runs) };
}

/** A live worker whose report shows `runs` (`[handler, ms, failure code?]`) and `idle` handlers that never ran. */
function reported(
  id: string,
  runs: Array<[string, number, string?]>,
  idle: string[] = [],
): LiveWorker {
  const report: WorkerReport = reportOf(id, runs, idle);
  return {
    id,
    info: {
      id,
      incarnation: id,
      weight: 1,
      concurrency: 1,
      maxQueue: 0,
      heartbeatTtlMs: 3_000,
      maxMessageBytes: 1_048_576,
      handlers: Object.keys(report.handlers),
      host: 'h',
      pid: 1,
      version: '0.1.0',
      startedAt: 0,
    },
    policyWeight: undefined,
    heartbeat: { incarnation: id, blockedMs: 0, stalledMs: 0, overdue: 0 },
    heartbeatAgeMs: 0,
    report,
  };
}

function view(workers: LiveWorker[], dispatchers: ReportingDispatcher[] = []): ClusterView {
  return {
    namespace: 'prod',
    readAt: NOW,
    workers,
    dispatchers,
    stale: 0,
    durable: { waiting: 0, delayed: 0, active: 0, owners: [] },
  };
}

describe('statsReport', () => {
  it('rolls handlers up over workers and keeps each worker apart', () => {
    const fresh = { ...reported('c', []), report: undefined };
    const report = statsReport(
      view([
        reported('a', [
          ['echo', 2],
          ['echo', 4, 'TIMEOUT'],
        ]),
        reported('b', [['echo', 6]]),
        fresh,
      ]),
    );
    expect(report.handlers['echo']).toMatchObject({
      succeeded: 2,
      failed: { TIMEOUT: 1 },
      sources: 2,
      duration: { count: 3, max: 6 },
      throughput: { lastSecond: 3, lastMinute: 3 },
    });
    expect(Object.keys(report.workers)).toEqual(['a', 'b']);
    expect(report.workers['a']?.total).toMatchObject({ succeeded: 1, failed: { TIMEOUT: 1 } });
    expect(report.workers['b']?.handlers['echo']?.succeeded).toBe(1);
    expect(report.unreported).toEqual(['c']);
    expect(report.latency).toEqual({});
    // JSON carries it whole.
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
  });

  it('rolls end-to-end latency up per handler over the dispatchers, percentiles from their merged histograms', () => {
    const fast = Array.from({ length: 98 }, (): [string, number] => ['echo', 2]);
    const report = statsReport(
      view(
        [reported('a', [['echo', 1]])],
        [
          dispatcher('d1', fast),
          dispatcher('d2', [
            ['echo', 40],
            ['echo', 40, 'TIMEOUT'],
            ['mail', 12],
          ]),
        ],
      ),
    );
    expect(report.latency['echo']).toMatchObject({
      succeeded: 99,
      failed: { TIMEOUT: 1 },
      sources: 2,
      duration: { count: 100, max: 40 },
    });
    // Not an average of the dispatchers' p99s (2 and 40): the 99th of the 100 calls.
    expect(report.latency['echo']?.duration.p99).toBeGreaterThan(38);
    expect(report.latency['echo']?.duration.p50).toBeCloseTo(2, 1);
    expect(report.latency['mail']?.sources).toBe(1);
    expect(report.dispatchers).toEqual({ d1: { reportedAt: NOW }, d2: { reportedAt: NOW } });
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
  });
});

describe('renderStats', () => {
  it('prints the per-handler table, then one row per worker and handler', () => {
    const text = renderStats(
      statsReport(
        view([
          reported('a', [
            ['echo', 2],
            ['echo', 4, 'TIMEOUT'],
          ]),
          reported('b', [
            ['echo', 6],
            ['hash', 150],
          ]),
        ]),
      ),
    );
    const lines = text.split('\n');
    const header = lines.findIndex((l) => l.startsWith('HANDLER'));
    expect(lines[header]).toMatch(
      /^HANDLER\s+WORKERS\s+OK\s+FAILED\s+REDELIVERED\s+LAST S\s+LAST MIN\s+P50\s+P90\s+P99\s+MAX\s+AVG$/,
    );
    expect(lines[header + 2]).toMatch(/^echo\s+2\s+2\s+1 \(TIMEOUT 1\)\s+0\s+3\s+3\s+[\d.]+ ms/);
    expect(lines[header + 3]).toMatch(
      /^hash\s+1\s+1\s+0\s+0\s+1\s+1\s+150 ms\s+150 ms\s+150 ms\s+150 ms\s+150 ms$/,
    );
    expect(text).toMatch(/\na\s+echo\s+1\s+1 \(TIMEOUT 1\)/);
    expect(text).toMatch(/\nb\s+hash\s+1\s+0/);
    expect(text).toContain('End-to-end latency: no dispatcher has published a report');
  });

  it('prints end-to-end latency per handler over the dispatchers, beside the execution table', () => {
    const text = renderStats(
      statsReport(
        view(
          [reported('a', [['echo', 2]])],
          [
            dispatcher('d1', [['echo', 5]]),
            dispatcher('d2', [
              ['echo', 7, 'TIMEOUT'],
              ['mail', 30],
            ]),
          ],
        ),
      ),
    );
    const lines = text.split('\n');
    expect(text).toContain(
      'End-to-end latency per handler, dispatch() to settlement, over 2 dispatchers',
    );
    const header = lines.findIndex((l) => l.startsWith('HANDLER  DISPATCHERS'));
    expect(lines[header]).toMatch(
      /^HANDLER\s+DISPATCHERS\s+OK\s+FAILED\s+P50\s+P90\s+P99\s+MAX\s+AVG$/,
    );
    expect(lines[header + 2]).toMatch(
      /^echo\s+2\s+1\s+1 \(TIMEOUT 1\)\s+5\.0 ms\s+7\.0 ms\s+7\.0 ms\s+7\.0 ms\s+6\.0 ms$/,
    );
    expect(lines[header + 3]).toMatch(/^mail\s+1\s+1\s+0\s+30 ms\s+30 ms\s+30 ms\s+30 ms\s+30 ms$/);
    // Dispatchers alone, with no live worker, still show.
    const alone = renderStats(statsReport(view([], [dispatcher('d1', [['echo', 5]])])));
    expect(alone).toMatch(/\necho\s+1\s+1\s+0\s+5\.0 ms/);
  });

  it('shows - for durations of handlers that never ran', () => {
    const text = renderStats(statsReport(view([reported('a', [['echo', 1]], ['idle'])])));
    expect(text).toMatch(/\necho\s+1\s+1\s+0\s+0\s+1\s+1\s+1\.0 ms/);
    expect(text).toMatch(/\nidle\s+1\s+0\s+0\s+0\s+0\s+0\s+-\s+-\s+-\s+-\s+-$/m);
  });

  it('says so when no worker is live, and names workers without a report yet', () => {
    expect(renderStats(statsReport(view([])))).toBe('no live workers in namespace prod');
    const fresh = { ...reported('c', []), report: undefined };
    expect(renderStats(statsReport(view([fresh])))).toContain('no stats report yet from c');
  });
});
