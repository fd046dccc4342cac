import { getEventListeners } from 'node:events';
import { ErrorCode } from '@ringcast/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { closeAll, outcome, setup } from './testing/core-fixture.js';

afterEach(closeAll);

describe('one AbortSignal shared by many dispatches', () => {
  it('adds one abort listener for them all, cancels every one of them, and warns nothing', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const { clock, dispatcher, worker, join, start } = setup();
      const w = worker('w1', () => 'ack', { concurrency: 100 });
      await join(w);
      await start();
      const controller = new AbortController();
      const results = Array.from({ length: 50 }, (_, i) =>
        outcome(dispatcher.dispatch('echo', i, { signal: controller.signal })),
      );
      await clock.advance(0);
      expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
      controller.abort();
      await clock.advance(0);
      expect(results.map((r) => r.error?.code)).toEqual(Array(50).fill(ErrorCode.CANCELLED));
      expect(w.cancelled).toHaveLength(50);
      expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
      // Node reports MaxListenersExceededWarning on the next tick.
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('removes the listener once the last task of the signal settles', async () => {
    const { clock, dispatcher, worker, join, start } = setup();
    const w = worker('w1', () => 'ack');
    await join(w);
    await start();
    const controller = new AbortController();
    const a = outcome(dispatcher.dispatch('echo', 'a', { signal: controller.signal }));
    const b = outcome(dispatcher.dispatch('echo', 'b', { signal: controller.signal }));
    await clock.advance(0);
    void w.finish(w.received[0]!, 'a');
    await clock.advance(0);
    expect(a).toEqual({ settled: true, value: 'a' });
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    void w.finish(w.received[1]!, 'b');
    await clock.advance(0);
    expect(b).toEqual({ settled: true, value: 'b' });
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    // Aborting now touches nothing.
    controller.abort();
    await clock.advance(0);
    expect(w.cancelled).toEqual([]);
  });
});
