/**
 * A live worker's weight changes (an operator's `ringcast reweight`): the
 * dispatcher's ring follows its hello at once, and the next reconcile round if
 * the hello was missed; the worker's attempts stay where they are.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { closeAll, type FakeWorker, outcome, setup } from './testing/core-fixture.js';

afterEach(closeAll);

/** Room for every task of a spread at once, so only the weights decide. */
const ROOMY = { concurrency: 16 };

/** How many of `count` tasks each worker got. */
async function spread(t: ReturnType<typeof setup>, workers: FakeWorker[], count: number) {
  const before = workers.map((w) => w.received.length);
  const results = Array.from({ length: count }, (_, i) =>
    outcome(t.dispatcher.dispatch('echo', i)),
  );
  await t.clock.advance(0);
  expect(results.every((r) => r.settled && r.error === undefined)).toBe(true);
  return workers.map((w, i) => w.received.length - before[i]!);
}

/** Lets the clock run the commands `promise` waits on. */
async function run<T>(t: ReturnType<typeof setup>, promise: Promise<T>): Promise<T> {
  await t.clock.advance(0);
  return promise;
}

function weights(t: ReturnType<typeof setup>): Record<string, number> {
  return Object.fromEntries(t.dispatcher.workers().map((w) => [w.id, w.weight]));
}

describe('a live worker reweighed', () => {
  it('follows the hello of a known process at once, before any reconcile round, and logs it', async () => {
    const lines: Array<[Record<string, unknown>, string]> = [];
    const logger = {
      child: () => logger,
      bindings: () => ({}),
      info: (...args: unknown[]) => lines.push(args as [Record<string, unknown>, string]),
      warn() {},
      error() {},
    };
    // No reconcile round within the test: only the hello can tell.
    const t = setup({ reconcileIntervalMs: 600_000, logger });
    const a = t.worker('a', () => ({ ok: 1 }), ROOMY);
    const b = t.worker('b', () => ({ ok: 1 }), ROOMY);
    await t.join(a);
    await t.join(b);
    await t.start();
    expect(await spread(t, [a, b], 8)).toEqual([4, 4]);

    a.info.weight = 3;
    await run(t, a.hello());
    expect(weights(t)).toEqual({ a: 3, b: 1 });
    expect(await spread(t, [a, b], 8)).toEqual([6, 2]);
    expect(lines).toContainEqual([
      { dispatcher: 'd1', worker: 'a', weight: 3, previousWeight: 1 },
      '[ringcast dispatcher d1] worker a: weight 1 → 3',
    ]);
  });

  it('takes a changed weight from the registry at the next reconcile round when the hello was missed', async () => {
    const t = setup({ reconcileIntervalMs: 200 });
    const a = t.worker('a', () => ({ ok: 1 }), ROOMY);
    const b = t.worker('b', () => ({ ok: 1 }), ROOMY);
    await t.join(a);
    await t.join(b);
    await t.start();
    b.info.weight = 3;
    await run(t, b.register());
    await t.clock.advance(250);
    expect(weights(t)).toEqual({ a: 1, b: 3 });
    expect(await spread(t, [a, b], 8)).toEqual([2, 6]);
  });

  /** One worker holding three open attempts that it acknowledged and runs. */
  async function threeOpen() {
    const t = setup({ reconcileIntervalMs: 600_000 });
    const a = t.worker('a', () => 'ack');
    await t.join(a);
    await t.start();
    const pending = Array.from({ length: 3 }, (_, i) => outcome(t.dispatcher.dispatch('echo', i)));
    await t.clock.advance(0);
    /** Finishes the three first attempts and gives the outcomes. */
    const finish = async () => {
      await run(t, Promise.all(a.received.slice(0, 3).map((task) => a.finish(task, 'done'))));
      await t.clock.advance(0);
      return pending.map((p) => p.value);
    };
    return { t, a, finish };
  }

  it("keeps the worker's attempts on its books: nothing is re-sent, everything settles once", async () => {
    const { t, a, finish } = await threeOpen();
    a.info.weight = 5;
    await run(t, a.hello(true));
    expect(t.dispatcher.workers()).toMatchObject([{ id: 'a', weight: 5, inflight: 3 }]);
    // Only the weight changed: the attempts are not sent to it again.
    expect(a.received).toHaveLength(3);
    expect(await finish()).toEqual(['done', 'done', 'done']);
    expect(t.dispatcher.stats()).toMatchObject({ inflight: 0, redelivered: 0 });
  });

  it('re-sends the open attempts on a hello that is not a reweight (the worker re-subscribed)', async () => {
    const { t, a, finish } = await threeOpen();
    await run(t, a.hello());
    expect(a.received).toHaveLength(6);
    expect(new Set(a.received.map((task) => task.token)).size).toBe(3);
    expect(await finish()).toEqual(['done', 'done', 'done']);
  });

  it('ignores the weight in a hello from a process it does not know', async () => {
    const t = setup({ reconcileIntervalMs: 600_000 });
    const a = t.worker('a', () => ({ ok: 1 }));
    await t.join(a);
    await t.start();
    const impostor = t.worker('a', () => ({ ok: 1 }), { incarnation: 'another', weight: 50 });
    await run(t, impostor.hello());
    expect(weights(t)).toEqual({ a: 1 });
  });
});
