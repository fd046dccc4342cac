// A task whose trace context does not validate still runs, untraced: the
// worker counts what it dropped and says so in a rate-limited warning.
import { encodeCompactTask, encodeFrame, type OkResultMessage } from '@ringcast/protocol';
import { afterEach, expect, it } from 'vitest';
import { DISPATCHER, expectWorkersIdle, ID, n, setup } from './testing/core-fixture.js';

afterEach(expectWorkersIdle);

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

it('runs tasks with an invalid trace context, counts each one dropped, and warns once', async () => {
  const warnings: string[] = [];
  const logger = { info() {}, error() {}, warn: (line: string) => warnings.push(line) };
  const t = await setup({ job: (payload) => payload }, { logger });
  await t.settle(t.worker.start());
  await t.send(
    t.task({ traceparent: 'not-a-traceparent' }),
    t.task({ traceparent: TRACEPARENT, tracestate: 'UPPER=case' }),
    t.task({ tracestate: 'orphan=1' }),
    t.task({ traceparent: TRACEPARENT, tracestate: 'ok=1' }),
  );
  // The compact form too, as dispatchers send it.
  const compact = encodeCompactTask('c1', 1, 'job', t.clock.now() + 10_000, '"c"', {
    traceparent: `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`,
  });
  await t.settle(
    t.peer.publish(n.workerChannel(ID), encodeFrame([compact], { replyTo: DISPATCHER })),
  );
  await t.clock.advance(1);

  const results = t.replies.filter((m): m is OkResultMessage => m.kind === 'result' && m.ok);
  expect(results.map((r) => r.id).sort()).toEqual(['c1', 't1', 't2', 't3', 't4']);
  expect(t.worker.stats()).toMatchObject({ invalidTraceContexts: 4, invalid: 0, succeeded: 5 });
  expect(warnings).toEqual([
    expect.stringMatching(/^worker w1: ran a task untraced: invalid trace context/),
  ]);
  await t.settle(t.worker.close());
});
