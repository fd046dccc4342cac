import { type Names, names, systemClock } from '@ringcast/protocol';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The claim's script runs on a real Redis, so its test lives here rather than beside it.
import { IdentityClaim } from '../../packages/worker/src/identity.js';
import { checkClaim } from '../../packages/worker/src/redis-transport.js';
import { redisAvailability, uniqueNamespace, useRedis } from '../support/redis.js';
import { track } from '../support/track.js';

type Step = 'check' | 'subscribe' | 'recheck';
const STEPS: Step[] = ['check', 'subscribe', 'recheck'];

/** Every interleaving of two processes' start-up steps, each in its own order. */
function interleavings(): Array<Array<'a' | 'b'>> {
  const out: Array<Array<'a' | 'b'>> = [];
  const walk = (a: number, b: number, order: Array<'a' | 'b'>) => {
    if (a === STEPS.length && b === STEPS.length) out.push(order);
    if (a < STEPS.length) walk(a + 1, b, [...order, 'a']);
    if (b < STEPS.length) walk(a, b + 1, [...order, 'b']);
  };
  walk(0, 0, []);
  return out;
}

/** A claim checked by the Redis transport's script over `command`. */
function redisClaim(command: Redis, n: Names, id: string, incarnation: string, ttlMs: number) {
  const store = {
    claim: (inc: string, ttl: number, subscribed: boolean) =>
      checkClaim(command, n, id, inc, ttl, subscribed),
  };
  return new IdentityClaim(store, systemClock, n.namespace, id, incarnation, ttlMs);
}

describe.skipIf(!redisAvailability.available)('the worker id claim', () => {
  const redis = useRedis();
  let command: Redis;
  const subscribers: Redis[] = [];

  beforeAll(async () => {
    command = track(new Redis(redis.url));
    for (let i = 0; i < 2; i++) subscribers.push(track(new Redis(redis.url)));
  });

  afterAll(async () => {
    await Promise.all([command, ...subscribers].map((c) => c.quit()));
  });

  it.each([
    ['no earlier holder', false],
    ['the claim of a killed process still live', true],
  ])(
    'lets exactly one of two processes starting at once keep the id, in every interleaving (%s)',
    async (_what, stale) => {
      const orders = interleavings();
      expect(orders).toHaveLength(20);
      for (const order of orders) {
        const n = names(uniqueNamespace());
        const key = n.claimKey('w');
        const channel = n.workerChannel('w');
        if (stale) await command.set(key, 'dead-incarnation', 'PX', 60_000);
        const procs = (['a', 'b'] as const).map((name, i) => ({
          name,
          claim: redisClaim(command, n, 'w', `inc-${name}`, 60_000),
          subscriber: subscribers[i]!,
          next: 0,
          outcome: undefined as 'held' | 'refused' | undefined,
        }));
        for (const who of order) {
          const p = procs.find((q) => q.name === who)!;
          const step = STEPS[p.next++]!;
          // A refused process stops; its subscription may linger a while, which is the harder case.
          if (p.outcome === 'refused') continue;
          if (step === 'subscribe') {
            await p.subscriber.subscribe(channel);
            continue;
          }
          const check = await p.claim.check(step === 'recheck');
          if (!check.held) p.outcome = 'refused';
          else if (step === 'recheck') p.outcome = 'held';
        }
        const outcomes = procs.map((p) => p.outcome).sort();
        expect(outcomes, `order ${order.join('')}`).toEqual(['held', 'refused']);
        const holder = procs.find((p) => p.outcome === 'held')!;
        expect(await command.get(key)).toBe(`inc-${holder.name}`);
        await Promise.all(procs.map((p) => p.subscriber.unsubscribe(channel)));
      }
    },
  );

  it('lets a restarted process take the id at once, a live holder keep it, a lapsed one lose it', async () => {
    const n = names(uniqueNamespace());
    const channel = n.workerChannel('w');
    const [holderSub, otherSub] = subscribers as [Redis, Redis];
    const holder = redisClaim(command, n, 'w', 'inc-1', 300);
    expect(await holder.check(false)).toEqual({ held: true, subscribers: 0 });
    await holderSub.subscribe(channel);
    expect(await holder.check(true)).toEqual({ held: true, subscribers: 1 });

    // Killed: its subscription is gone, its claim not yet. The restart takes the id.
    await holderSub.unsubscribe(channel);
    const restart = redisClaim(command, n, 'w', 'inc-2', 300);
    expect(await restart.check(false)).toEqual({ held: true, subscribers: 0 });
    await otherSub.subscribe(channel);

    // The old one comes back (it was only cut off): the id is no longer its own.
    await holderSub.subscribe(channel);
    expect(await holder.check(true)).toEqual({ held: false, subscribers: 2 });
    expect(await restart.check(true)).toEqual({ held: true, subscribers: 2 });

    // The holder stops refreshing (paused past the TTL): the other live process takes the id.
    await new Promise((r) => setTimeout(r, 400));
    expect(await holder.check(true)).toEqual({ held: true, subscribers: 2 });
    expect(await restart.check(true)).toEqual({ held: false, subscribers: 2 });
    await Promise.all([holderSub.unsubscribe(channel), otherSub.unsubscribe(channel)]);
  });
});
