import { describe, expect, it } from 'vitest';
import { HandlerStatsBook, MAX_TRACKED_HANDLERS, OTHER_HANDLERS } from './handler-stats.js';
import { RateWindow } from './rate-window.js';

describe('RateWindow', () => {
  it('counts the last whole second and the last 60', () => {
    const r = new RateWindow();
    const t0 = 1_000_000_000;
    for (let i = 0; i < 5; i++) r.add(t0 + i);
    for (let i = 0; i < 3; i++) r.add(t0 + 1_000 + i);
    expect(r.read(t0 + 1_500)).toEqual({ lastSecond: 5, lastMinute: 5 });
    expect(r.read(t0 + 2_000)).toEqual({ lastSecond: 3, lastMinute: 8 });
    expect(r.read(t0 + 60_999)).toEqual({ lastSecond: 0, lastMinute: 8 });
    expect(r.read(t0 + 61_000)).toEqual({ lastSecond: 0, lastMinute: 3 });
    expect(r.read(t0 + 3_600_000)).toEqual({ lastSecond: 0, lastMinute: 0 });
    // A clock that steps back counts in the newest second.
    r.add(t0);
    expect(r.read(t0 + 3_601_000)).toEqual({ lastSecond: 1, lastMinute: 1 });
  });
});

describe('HandlerStatsBook', () => {
  it('counts outcomes per handler', () => {
    const book = new HandlerStatsBook();
    const now = 5_000_000;
    book.of('echo').record(1, undefined, false, now);
    book.of('echo').record(3, 'TIMEOUT', true, now);
    book.of('echo').record(2, 'HANDLER_ERROR', false, now);
    book.of('slow').record(1_000, undefined, false, now);
    const s = book.summary(now + 1_000);
    expect(s['echo']).toMatchObject({
      succeeded: 1,
      failed: { TIMEOUT: 1, HANDLER_ERROR: 1 },
      redelivered: 1,
      throughput: { lastSecond: 3, lastMinute: 3 },
      duration: { count: 3, max: 3, avg: 2 },
    });
    expect(s['slow']?.duration.p50).toBe(1_000);
  });

  it('counts the outcomes recorded over every handler, the other handlers once', () => {
    const book = new HandlerStatsBook();
    expect(book.outcomes()).toBe(0);
    book.of('echo').record(1, undefined, false, 0);
    book.of('slow').record(2, 'TIMEOUT', false, 0);
    expect(book.outcomes()).toBe(2);
    for (let i = 0; i < MAX_TRACKED_HANDLERS + 2; i++)
      book.of(`h${i}`).record(1, undefined, false, 0);
    expect(book.outcomes()).toBe(MAX_TRACKED_HANDLERS + 4);
  });

  it('bounds the handlers it tracks', () => {
    const book = new HandlerStatsBook();
    for (let i = 0; i < MAX_TRACKED_HANDLERS + 10; i++)
      book.of(`h${i}`).record(1, undefined, false, 0);
    const s = book.summary(0);
    expect(Object.keys(s)).toHaveLength(MAX_TRACKED_HANDLERS + 1);
    expect(s[OTHER_HANDLERS]?.succeeded).toBe(10);
  });
});
