/**
 * Trace propagation through a real redis-server, the worker in this process:
 * each dispatch's PRODUCER span and the worker's CONSUMER span share a trace,
 * the consumer a child of the producer, for plain and durable tasks alike.
 */

import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { createDispatcher } from '@ringcast/dispatcher';
import { createWorker } from '@ringcast/worker';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryTracing } from '../packages/sim/src/testing/memory-tracing.js';
import { redisAvailability, uniqueNamespace, useRedis } from './support/redis.js';
import { track } from './support/track.js';
import { eventually } from './worker/fake-dispatcher.js';

describe.skipIf(!redisAvailability.available)('trace propagation through Redis', () => {
  const redis = useRedis();
  let tracing: MemoryTracing | undefined;

  afterEach(async () => {
    await tracing?.stop();
    tracing = undefined;
  });

  it('links every consumer span to its dispatch’s producer span, through real pub/sub', async () => {
    tracing = new MemoryTracing().start();
    const namespace = uniqueNamespace();
    const handlers = {
      echo: async (payload: unknown) =>
        // The handler's own span nests under the consumer span.
        trace.getTracer('app').startActiveSpan('lookup', (span) => {
          span.end();
          return payload;
        }),
      fail: () => {
        throw new Error('declined');
      },
    };
    const worker = track(createWorker({ redis: redis.url, namespace, logger: false, handlers }));
    const dispatcher = track(createDispatcher({ redis: redis.url, namespace, logger: false }));
    let durableId = '';
    try {
      await worker.start();
      await dispatcher.start();
      await eventually(() => dispatcher.workers().length === 1, 10_000);

      const results = await Promise.all([1, 2, 3].map((n) => dispatcher.dispatch('echo', n)));
      expect(results).toEqual([1, 2, 3]);
      await expect(dispatcher.dispatch('fail', 0)).rejects.toMatchObject({ code: 'HANDLER_ERROR' });
      durableId = await dispatcher.submit('echo', 'stored');
      expect(await dispatcher.result(durableId)).toBe('stored');
    } finally {
      await dispatcher.close();
      await worker.close();
    }

    const spans = await tracing.spans();
    const producers = spans.filter((s) => s.kind === SpanKind.PRODUCER);
    const consumers = spans.filter((s) => s.kind === SpanKind.CONSUMER);
    expect(producers).toHaveLength(5);
    expect(consumers).toHaveLength(5);
    const byId = (list: ReadableSpan[]) =>
      new Map(list.map((s) => [s.attributes['messaging.message.id'], s]));
    const producerOf = byId(producers);
    for (const consumer of consumers) {
      const producer = producerOf.get(consumer.attributes['messaging.message.id']);
      expect(producer, consumer.name).toBeDefined();
      expect(consumer.spanContext().traceId).toBe(producer!.spanContext().traceId);
      expect(consumer.parentSpanContext?.spanId).toBe(producer!.spanContext().spanId);
      expect(consumer.attributes['ringcast.worker.id']).toBe(worker.id);
    }
    // A submit's span ends once the task is stored; a dispatch's records where its attempts went.
    for (const producer of producers) {
      const durable = producer.attributes['messaging.message.id'] === durableId;
      expect(producer.attributes['ringcast.worker.id']).toBe(durable ? undefined : worker.id);
    }
    // Five separate traces: one per dispatch.
    expect(new Set(producers.map((s) => s.spanContext().traceId)).size).toBe(5);
    const failed = consumers.find((s) => s.name === 'fail process');
    expect(failed?.status.code).toBe(SpanStatusCode.ERROR);
    expect(failed?.attributes['error.type']).toBe('HANDLER_ERROR');
    const lookups = spans.filter((s) => s.name === 'lookup');
    expect(lookups).toHaveLength(4);
    const consumerIds = new Set(consumers.map((s) => s.spanContext().spanId));
    for (const lookup of lookups)
      expect(consumerIds.has(lookup.parentSpanContext!.spanId)).toBe(true);
  });
});
