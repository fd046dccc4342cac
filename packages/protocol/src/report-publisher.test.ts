import { describe, expect, it } from 'vitest';
import { HandlerStatsBook } from './handler-stats.js';
import { REPORT_INTERVAL_MS, ReportPublisher } from './report-publisher.js';
import { parseStatsReport } from './stats-report.js';
import { VirtualClock } from './virtual-clock.js';

/** A publisher over a book, writing into `writes`; `fail` makes the next writes reject. */
function setup(refreshMs: number | undefined) {
  const clock = new VirtualClock();
  const book = new HandlerStatsBook();
  const writes: Array<{ at: number; json: string }> = [];
  const warnings: string[] = [];
  const t = {
    clock,
    book,
    writes,
    warnings,
    fail: false,
    /** Resolves the write in flight when set; writes resolve at once otherwise. */
    hold: undefined as Promise<void> | undefined,
    record: (ms = 1) => book.of('echo').record(ms, undefined, false, clock.now()),
    publisher: new ReportPublisher({
      clock,
      changes: () => book.outcomes(),
      report: (now) => ({ incarnation: 'i1', at: now, handlers: book.summary(now) }),
      write: async (json) => {
        if (t.hold !== undefined) await t.hold;
        if (t.fail) throw new Error('READONLY You can’t write against a read only replica.');
        writes.push({ at: clock.now(), json });
      },
      refreshMs,
      warn: (line) => warnings.push(line),
    }),
  };
  return t;
}

describe('ReportPublisher', () => {
  it('without refresh: writes nothing until something is recorded, then once a second while it changes, then nothing', async () => {
    const t = setup(undefined);
    t.publisher.start();
    await t.clock.advance(5 * REPORT_INTERVAL_MS);
    expect(t.writes).toEqual([]);
    t.record();
    t.record();
    await t.clock.advance(REPORT_INTERVAL_MS);
    expect(t.writes).toHaveLength(1);
    expect(parseStatsReport(t.writes[0]!.json)?.handlers['echo']?.succeeded).toBe(2);
    // Many outcomes within a second still make one write.
    for (let i = 0; i < 100; i++) t.record();
    await t.clock.advance(REPORT_INTERVAL_MS);
    expect(t.writes).toHaveLength(2);
    expect(parseStatsReport(t.writes[1]!.json)?.handlers['echo']?.succeeded).toBe(102);
    // Idle: a minute passes without a write.
    await t.clock.advance(60 * REPORT_INTERVAL_MS);
    expect(t.writes).toHaveLength(2);
    await t.publisher.stop();
  });

  it('with refresh: writes at start, and an unchanged report again once the last write is that old', async () => {
    const t = setup(3 * REPORT_INTERVAL_MS);
    t.publisher.start();
    await t.clock.advance(0);
    expect(t.writes).toHaveLength(1);
    await t.clock.advance(2 * REPORT_INTERVAL_MS);
    expect(t.writes).toHaveLength(1);
    await t.clock.advance(REPORT_INTERVAL_MS);
    expect(t.writes).toHaveLength(2);
    t.record();
    await t.clock.advance(REPORT_INTERVAL_MS);
    expect(t.writes).toHaveLength(3);
    await t.publisher.stop();
  });

  it('tries a failed write again at the next tick, and warns', async () => {
    const t = setup(undefined);
    t.publisher.start();
    t.record();
    t.fail = true;
    await t.clock.advance(REPORT_INTERVAL_MS);
    expect(t.writes).toEqual([]);
    expect(t.warnings).toEqual([
      'publishing stats failed: READONLY You can’t write against a read only replica.',
    ]);
    t.fail = false;
    await t.clock.advance(REPORT_INTERVAL_MS);
    expect(t.writes).toHaveLength(1);
    await t.publisher.stop();
  });

  it('writes one at a time, and stop() waits for the write in flight', async () => {
    const t = setup(undefined);
    let release!: () => void;
    t.hold = new Promise((resolve) => {
      release = resolve;
    });
    t.publisher.start();
    t.record();
    await t.clock.advance(REPORT_INTERVAL_MS);
    t.record();
    await t.clock.advance(3 * REPORT_INTERVAL_MS);
    let stopped = false;
    const stopping = t.publisher.stop().then(() => {
      stopped = true;
    });
    await t.clock.advance(0);
    expect([t.writes.length, stopped]).toEqual([0, false]);
    release();
    await stopping;
    expect(t.writes).toHaveLength(1);
    // Stopped: what was recorded since is not written.
    await t.clock.advance(5 * REPORT_INTERVAL_MS);
    expect(t.writes).toHaveLength(1);
  });
});
