/** The dispatcher's stats report in Redis: written while calls settle, idle silence, its TTL, deleted on close. */
import {
  DurationHistogram,
  ErrorCode,
  parseHistogramSnapshot,
  parseStatsReport,
  REPORT_INTERVAL_MS,
} from '@ringcast/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { closeAll, n, outcome, setup } from './testing/core-fixture.js';

afterEach(closeAll);

const TTL_MS = 5_000;

describe("the dispatcher's stats report", () => {
  async function running() {
    const t = setup({ statsTtlMs: TTL_MS });
    const w = t.worker('w1', (task) =>
      (task.payload as { fail?: boolean }).fail
        ? { error: { name: 'Error', message: 'no', retryable: false } }
        : { ok: 1 },
    );
    await t.join(w);
    await t.start();
    /** Every SET of the report, as the model saw it. */
    const writes: string[] = [];
    const read = () => t.redis.get(n.dispatcherStatsKey('d1'));
    const settle = async (payload: unknown = {}) => {
      const result = outcome(t.dispatcher.dispatch('echo', payload));
      await t.clock.advance(0);
      expect(result.settled).toBe(true);
    };
    const tick = async () => {
      await t.clock.advance(REPORT_INTERVAL_MS);
      const value = read();
      if (value !== null && value !== writes.at(-1)) writes.push(value);
    };
    return { ...t, writes, read, settle, tick };
  }

  it('writes nothing before a call settled', async () => {
    const t = await running();
    for (let i = 0; i < 5; i++) await t.tick();
    expect(t.read()).toBeNull();
    expect(t.redis.zcard(n.dispatcherStatsIndexKey)).toBe(0);
  });

  it('publishes outcomes by code and the latency histogram behind stats().handlers, listed in the index', async () => {
    const t = await running();
    await t.settle();
    await t.settle();
    await t.settle({ fail: true });
    await t.tick();
    const report = parseStatsReport(t.read());
    const own = t.dispatcher.stats().handlers['echo']!;
    expect(report?.handlers['echo']).toMatchObject({
      succeeded: 2,
      failed: { [ErrorCode.HANDLER_ERROR]: 1 },
      duration: own.duration,
    });
    const merged = new DurationHistogram();
    merged.merge(parseHistogramSnapshot(report?.histograms?.['echo'])!);
    expect(merged.summary()).toEqual(own.duration);
    expect(t.redis.pttl(n.dispatcherStatsKey('d1'))).toBeGreaterThan(TTL_MS - REPORT_INTERVAL_MS);
    expect(t.redis.zscore(n.dispatcherStatsIndexKey, 'd1')).toBe(report!.at + TTL_MS);
  });

  it('writes at most once a second while calls settle, nothing while idle, and expires a TTL after its last write', async () => {
    const t = await running();
    for (let second = 0; second < 3; second++) {
      for (let i = 0; i < 5; i++) await t.settle();
      await t.tick();
    }
    expect(t.writes.map((w) => parseStatsReport(w)?.handlers['echo']?.succeeded)).toEqual([
      5, 10, 15,
    ]);
    const last = t.read();
    await t.tick();
    await t.tick();
    expect(t.read()).toBe(last);
    await t.clock.advance(TTL_MS);
    expect(t.read()).toBeNull();
    expect(t.redis.zcard(n.dispatcherStatsIndexKey)).toBe(0);
  });

  it('prunes index entries of dispatchers whose report expired long ago', async () => {
    const t = await running();
    t.redis.zadd(n.dispatcherStatsIndexKey, [[t.clock.now() - 2 * TTL_MS, 'gone']]);
    await t.settle();
    await t.tick();
    expect(t.redis.zrangebyscore(n.dispatcherStatsIndexKey, 0, Number.POSITIVE_INFINITY)).toEqual([
      'd1',
    ]);
  });

  it('deletes its report and index entry on close', async () => {
    const t = await running();
    await t.settle();
    await t.tick();
    expect(t.read()).not.toBeNull();
    const closed = t.dispatcher.close();
    await t.clock.advance(2_000);
    await closed;
    expect(t.read()).toBeNull();
    expect(t.redis.zcard(n.dispatcherStatsIndexKey)).toBe(0);
  });
});
