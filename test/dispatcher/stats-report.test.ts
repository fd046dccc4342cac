/**
 * A dispatcher's stats report in a real Redis, with a real worker: it appears
 * once calls settled, says what `stats().handlers` says, lapses a TTL after the
 * last call while the dispatcher idles, and goes when the dispatcher closes.
 */
import { createDispatcher } from '@ringcast/dispatcher';
import {
  DurationHistogram,
  names,
  parseHistogramSnapshot,
  parseStatsReport,
} from '@ringcast/protocol';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { useDeployment } from '../support/deployment.js';
import { redisAvailability, uniqueNamespace } from '../support/redis.js';
import { track } from '../support/track.js';
import { eventually } from '../worker/fake-dispatcher.js';

const TTL_MS = 3_000;

describe.skipIf(!redisAvailability.available)("the dispatcher's stats report", () => {
  const live = useDeployment();

  async function started(namespace: string) {
    await live.spawnWorker(namespace, { id: 'w-1' });
    const d = track(
      createDispatcher({
        redis: live.redis.url,
        namespace,
        logger: false,
        statsTtlMs: TTL_MS,
      }),
    );
    await d.start();
    await eventually(() => d.workers().length === 1);
    return d;
  }

  it('appears once calls settled, with their outcomes and latency histogram, and lapses a TTL after the last', async () => {
    const namespace = uniqueNamespace();
    const n = names(namespace);
    const client = track(new Redis(live.redis.url));
    const d = await started(namespace);
    expect(await client.get(n.dispatcherStatsKey(d.id))).toBeNull();

    await Promise.all(Array.from({ length: 10 }, (_, i) => d.dispatch('echo', { i })));
    await d.dispatch('fail', { message: 'no' }).catch(() => {});
    const report = await eventually(async () => {
      const read = parseStatsReport(await client.get(n.dispatcherStatsKey(d.id)));
      return read?.handlers['fail'] !== undefined && read;
    });
    const own = d.stats().handlers;
    expect(report.handlers['echo']).toMatchObject({
      succeeded: 10,
      duration: own['echo']!.duration,
    });
    expect(report.handlers['fail']?.failed).toEqual({ HANDLER_ERROR: 1 });
    const merged = new DurationHistogram();
    merged.merge(parseHistogramSnapshot(report.histograms?.['echo'])!);
    expect(merged.summary()).toEqual(own['echo']!.duration);
    const pttl = await client.pttl(n.dispatcherStatsKey(d.id));
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(TTL_MS);
    expect(await client.zrange(n.dispatcherStatsIndexKey, 0, -1)).toEqual([d.id]);

    // Idle, the dispatcher writes nothing more: its report lapses while it runs.
    await eventually(
      async () => (await client.exists(n.dispatcherStatsKey(d.id))) === 0,
      3 * TTL_MS,
      'the idle dispatcher’s report lapsed',
    );
    await eventually(async () => (await client.exists(n.dispatcherStatsIndexKey)) === 0);
    await d.close();
    await client.quit();
  });

  it('goes with close()', async () => {
    const namespace = uniqueNamespace();
    const n = names(namespace);
    const client = track(new Redis(live.redis.url));
    const d = await started(namespace);
    await d.dispatch('echo', 1);
    await eventually(async () => (await client.exists(n.dispatcherStatsKey(d.id))) === 1);
    await d.close();
    expect(await client.exists(n.dispatcherStatsKey(d.id))).toBe(0);
    expect(await client.zscore(n.dispatcherStatsIndexKey, d.id)).toBeNull();
    await client.quit();
  });
});
