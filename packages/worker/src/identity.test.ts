import { MemoryRedis, names, VirtualClock } from '@ringcast/protocol';
import { describe, expect, it } from 'vitest';
import { IdentityClaim } from './identity.js';
import { MemoryWorkerTransport } from './memory-transport.js';

/**
 * The claim on the memory transport, where the Lua script of redis-transport.ts
 * is a plain function (claimOn); test/worker/identity-claim.test.ts runs the
 * same story against a real Redis.
 */
describe('the worker id claim on the memory transport', () => {
  it('lets a restarted process take the id at once, a live holder keep it, a lapsed one lose it', async () => {
    const clock = new VirtualClock();
    const redis = new MemoryRedis(clock);
    const n = names('claim');
    const channel = n.workerChannel('w');
    const events = {
      message() {},
      subscriberClosed() {},
      subscriberReady() {},
      commandReady() {},
      error() {},
    };
    const run = async <T>(promise: Promise<T>): Promise<T> => {
      await clock.advance(0);
      return promise;
    };
    const process = async (incarnation: string) => {
      const transport = new MemoryWorkerTransport(redis, n, 'w');
      await transport.connect(events);
      const claim = new IdentityClaim(transport, clock, 'claim', 'w', incarnation, 300);
      return { transport, claim };
    };

    const holder = await process('inc-1');
    expect(await run(holder.claim.check(false))).toEqual({ held: true, subscribers: 0 });
    await run(holder.transport.subscribe());
    expect(await run(holder.claim.check(true))).toEqual({ held: true, subscribers: 1 });

    // Killed: its subscription is gone, its claim not yet. The restart takes the id.
    await run(holder.transport.unsubscribe());
    const restart = await process('inc-2');
    expect(await run(restart.claim.check(false))).toEqual({ held: true, subscribers: 0 });
    await run(restart.transport.subscribe());

    // The old one comes back (it was only cut off): the id is no longer its own.
    await run(holder.transport.subscribe());
    expect(await run(holder.claim.check(true))).toEqual({ held: false, subscribers: 2 });
    expect(await run(restart.claim.check(true))).toEqual({ held: true, subscribers: 2 });
    const refused = holder.claim.acquire(true).catch((error: unknown) => error);
    expect(await run(refused)).toMatchObject({ code: 'DUPLICATE_WORKER' });

    // The holder stops refreshing (paused past the TTL): the other live process takes the id.
    await clock.advance(400);
    expect(await run(holder.claim.check(true))).toEqual({ held: true, subscribers: 2 });
    expect(await run(restart.claim.check(true))).toEqual({ held: false, subscribers: 2 });
    expect(redis.get(n.claimKey('w'))).toBe('inc-1');
    expect(redis.numsub([channel])).toEqual([2]);
    await Promise.all([run(holder.transport.close()), run(restart.transport.close())]);
  });

  it('watch() fences the worker once another live process holds the id', async () => {
    const clock = new VirtualClock();
    const store = { claim: async () => ({ held: false, subscribers: 2 }) };
    const claim = new IdentityClaim(store, clock, 'claim', 'w', 'inc', 3_000);
    let fenced = 0;
    claim.watch(1_000, {
      live: () => true,
      shared: () => undefined,
      fence: () => fenced++,
      failed: () => undefined,
    });
    await clock.advance(5_000);
    expect(fenced).toBe(1);
  });
});
