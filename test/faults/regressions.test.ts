// Focused regression tests for bugs the fault-injection suite found.
import { createDispatcher } from '@ringcast/dispatcher';
import { createWorker } from '@ringcast/worker';
import { describe, expect, it } from 'vitest';
import { privateRedisAvailable } from '../support/redis.js';
import { startTcpProxy } from '../support/tcp-proxy.js';
import { track } from '../support/track.js';
import { Scenario, until } from './harness.js';

describe.skipIf(!privateRedisAvailable)('fault-suite regressions', () => {
  it('a task that outlives its timeout rejects TIMEOUT, never HANDLER_ERROR', async () => {
    // The worker aborts the handler at the deadline and replies at once; that reply
    // used to beat the dispatcher's own timer about one time in twenty. Every timeout
    // here is shorter than the handler's 200 ms, so no task can honestly succeed.
    const s = await Scenario.start('timeout race');
    try {
      await s.worker('w1', { concurrency: 500 });
      const d = await s.dispatcher();
      await s.routable(d, 1);
      await Promise.all(
        Array.from({ length: 400 }, (_, i) =>
          s.ledger.dispatch(d, `k${i}`, { ms: 200 }, { timeoutMs: 150 + (i % 40) }),
        ),
      );
      const codes = s.ledger.keys().map((k) => s.ledger.settlements(k)[0]?.code);
      expect(codes.filter((c) => c !== 'TIMEOUT')).toEqual([]);
    } finally {
      await s.close();
      s.removeRunLogs();
    }
  }, 60_000);

  /**
   * Starts a process (a dispatcher or a worker) through a TCP proxy, cuts its subscriber,
   * holds the reconnected one in its handshake (its ready check, INFO, goes unanswered: the
   * client waits in status 'connect') and closes the process meanwhile. Returns the
   * unhandled rejections seen.
   */
  async function closeWhileResubscribing<P extends { close(): Promise<unknown> }>(
    name: string,
    open: (redis: string, namespace: string) => Promise<P>,
    connectionName: (opened: P) => string,
  ): Promise<unknown[]> {
    const rejections: unknown[] = [];
    const heard = (reason: unknown) => rejections.push(reason);
    process.on('unhandledRejection', heard);
    const s = await Scenario.start(name);
    const proxy = await startTcpProxy(s.redis.url);
    try {
      const opened = await open(proxy.url, s.ns);
      const subscriber = await s.subscriberId(connectionName(opened));
      expect(subscriber).toBeDefined();
      const reconnected = proxy.holdNext('info');
      await s.client().call('CLIENT', 'KILL', 'ID', subscriber!);
      const held = await reconnected;
      const closing = opened.close();
      await held.clientEnded;
      held.release();
      await Promise.all([closing, held.closed]);
      // Node reports an unhandled rejection once the microtasks after it have run.
      await new Promise((resolve) => setTimeout(resolve, 50));
      return rejections;
    } finally {
      process.off('unhandledRejection', heard);
      await proxy.close();
      await s.close();
      s.removeRunLogs();
    }
  }

  it('closing while the reply subscriber reconnects leaves no unhandled rejection', async () => {
    // Scenario 6 (CLIENT KILL of the reply subscriber) reported "Connection is closed." as an
    // unhandled rejection when the dispatcher closed right after a kill: ioredis re-sends
    // SUBSCRIBE by itself once a reconnected subscriber is ready, without a rejection handler,
    // and a close in the middle of that handshake fails that SUBSCRIBE.
    const rejections = await closeWhileResubscribing(
      'close while resubscribing',
      async (redis, namespace) => {
        const d = track(createDispatcher({ redis, namespace, logger: false, drainTimeoutMs: 0 }));
        await d.start();
        return d;
      },
      (d) => `ringcast:dispatcher:${d.id}`,
    );
    expect(rejections).toEqual([]);
  }, 60_000);

  it('closing a worker while its subscriber reconnects leaves no unhandled rejection', async () => {
    // As for the dispatcher above, the worker's subscriber.
    const rejections = await closeWhileResubscribing(
      'worker close while resubscribing',
      async (redis, namespace) => {
        const worker = track(
          createWorker({
            redis,
            namespace,
            id: 'w-resubscribe',
            logger: false,
            drainTimeoutMs: 0,
            handlers: { echo: (payload: unknown) => payload },
          }),
        );
        await worker.start();
        return worker;
      },
      () => 'ringcast-worker:w-resubscribe',
    );
    expect(rejections).toEqual([]);
  }, 60_000);

  it('a dispatcher whose subscriber reconnects while it closes still hears the replies its drain waits for', async () => {
    // With ioredis's own re-SUBSCRIBE off, the dispatcher subscribes again itself: while
    // closing too, or the drain would wait for replies nobody receives, then fail them CLOSED.
    const s = await Scenario.start('resubscribe while closing');
    try {
      await s.worker('w1');
      const d = await s.dispatcher({ drainTimeoutMs: 10_000 });
      await s.routable(d, 1);
      const running = s.ledger.dispatch(d, 'slow', { ms: 1_500 });
      await new Promise((resolve) => setTimeout(resolve, 200));
      const subscriber = await s.subscriberId(`ringcast:dispatcher:${d.id}`);
      const closing = d.close();
      await s.client().call('CLIENT', 'KILL', 'ID', subscriber!);
      await Promise.all([running, closing]);
      expect(s.ledger.settlements('slow')).toMatchObject([{ ok: true }]);
    } finally {
      await s.close();
      s.removeRunLogs();
    }
  }, 60_000);

  it('a reconnected reply subscriber is back on every channel of the dispatcher', async () => {
    // ioredis does not re-subscribe the dispatcher's subscriber (see the test above): the
    // dispatcher does, for replies, control, and the durable side's settled and cancel channels.
    const s = await Scenario.start('resubscribe every channel');
    try {
      const d = await s.dispatcher();
      const name = `ringcast:dispatcher:${d.id}`;
      const channels = async () => (await s.clients(name)).find((c) => Number(c['sub']) > 0);
      const before = await channels();
      expect(before?.['sub']).toBe('4');
      await s.client().call('CLIENT', 'KILL', 'ID', before!['id']!);
      await until(
        async () => {
          const now = await channels();
          return now !== undefined && now['id'] !== before!['id'] && now['sub'] === '4';
        },
        10_000,
        'the reconnected subscriber on all 4 channels',
      );
    } finally {
      await s.close();
      s.removeRunLogs();
    }
  }, 60_000);
});
