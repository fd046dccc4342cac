import { names, parseHeartbeat } from '@ringcast/protocol';
import { describe, expect, it } from 'vitest';
import { Checker } from './checker.js';
import { NAMESPACE } from './deployment-settings.js';
import { Random } from './random.js';
import { HANDLER, type Payload } from './sim-handler.js';
import { Trace } from './trace.js';
import { World } from './world.js';

const n = names(NAMESPACE);

async function started(workers: number) {
  const world = new World({
    random: new Random(1),
    checker: new Checker(),
    trace: new Trace(100),
    dispatchers: 1,
    workers,
  });
  await world.start();
  await world.clock.advance(500);
  return world;
}

function payload(call: number, delayMs = 0): Payload {
  return { call, echo: `e${call}`, mode: delayMs ? 'async' : 'sync', delayMs, failRuns: 0 };
}

describe('World: a paused or blocked worker', () => {
  it('a blocked loop: its heartbeat thread keeps beating and reports the block; new work goes elsewhere', async () => {
    const world = await started(2);
    const [w1, w2] = world.workers as [(typeof world.workers)[0], (typeof world.workers)[0]];
    world.block(w1, 3_000);
    await world.clock.advance(1_500);
    const beat = parseHeartbeat(world.redis.get(n.heartbeatKey(w1.id)));
    expect(beat?.blockedMs).toBeGreaterThanOrEqual(1_000);
    const dispatcher = world.dispatchers[0]!.core;
    const results = await Promise.all(
      [1, 2, 3, 4].map((call) => {
        const result = dispatcher.dispatch(HANDLER, payload(call));
        return world.clock.advance(50).then(() => result);
      }),
    );
    expect(results).toEqual([1, 2, 3, 4].map((call) => ({ call, attempt: 1, echo: `e${call}` })));
    expect(w2.core.stats().succeeded).toBe(4);
    expect(w1.core.stats().received).toBe(0);
  });

  it('a paused process: nothing beats, its heartbeat lapses, and it reads what waited once resumed', async () => {
    const world = await started(1);
    const [w1] = world.workers as [(typeof world.workers)[0]];
    world.pause(w1, 2_000);
    // Sent before the pause shows: the frame waits, unread, for the process.
    const result = world.dispatchers[0]!.core.dispatch(HANDLER, payload(1), { timeoutMs: 10_000 });
    await world.clock.advance(1_000);
    expect(world.redis.get(n.heartbeatKey(w1.id))).toBeNull();
    expect(w1.core.stats().received).toBe(0);
    await world.clock.advance(1_500);
    const beat = parseHeartbeat(world.redis.get(n.heartbeatKey(w1.id)));
    // Held up as a whole, the process does not report its loop as blocked.
    expect(beat?.blockedMs).toBe(0);
    expect(w1.core.stats().received).toBeGreaterThanOrEqual(1);
    await world.clock.advance(1_000);
    await expect(result).resolves.toMatchObject({ call: 1, echo: 'e1' });
  });
});
