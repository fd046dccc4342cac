import { describe, expect, it } from 'vitest';
import { HandlerStatsBook } from './handler-stats.js';
import { parseStatsReport, parseWorkerReport } from './stats-report.js';

describe('parseStatsReport', () => {
  it('reads what a worker writes and refuses anything else', () => {
    const book = new HandlerStatsBook();
    book.of('echo').record(1, 'TIMEOUT', false, 0);
    const report = { incarnation: 'i1', at: 1, handlers: book.summary(0) };
    expect(parseStatsReport(JSON.stringify(report))).toEqual(report);
    for (const bad of [null, '', '{', '[]', '{"incarnation":1,"at":1,"handlers":{}}']) {
      expect(parseStatsReport(bad)).toBeUndefined();
    }
    const broken = { ...report, handlers: { echo: { ...report.handlers['echo'], succeeded: -1 } } };
    expect(parseStatsReport(JSON.stringify(broken))).toBeUndefined();
  });

  it('reads a dispatcher report, and parses a worker report under its old name too', () => {
    const book = new HandlerStatsBook();
    book.of('echo').record(12, undefined, true, 0);
    const report = {
      incarnation: 'd1',
      at: 2,
      handlers: book.summary(0),
      histograms: book.histograms(),
    };
    expect(parseStatsReport(JSON.stringify(report))).toEqual(report);
    expect(parseWorkerReport).toBe(parseStatsReport);
  });

  it('reads the in-flight counts and histograms, and leaves out those that do not read', () => {
    const book = new HandlerStatsBook();
    book.of('echo').record(2.5, undefined, false, 0);
    const histograms = book.histograms();
    const report = { incarnation: 'i1', at: 1, handlers: book.summary(0), inflight: 3, queued: 1 };
    expect(parseStatsReport(JSON.stringify({ ...report, histograms }))).toEqual({
      ...report,
      histograms,
    });
    const odd = parseStatsReport(
      JSON.stringify({
        ...report,
        inflight: -1,
        queued: 'x',
        histograms: { echo: histograms['echo'], other: { buckets: [1] } },
      }),
    );
    expect(odd).toEqual({ incarnation: 'i1', at: 1, handlers: report.handlers, histograms });
  });
});
