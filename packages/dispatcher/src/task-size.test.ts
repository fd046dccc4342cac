import { encodeCompactResend, encodeCompactTask, frameOverhead } from '@ringcast/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { exactTaskBytes, roughTaskBytes, traceBytes } from './task-size.js';

const id = fc.stringMatching(/^[A-Za-z0-9_.-]{1,128}$/);

describe('task size bounds', () => {
  it('hold a task frame, and a re-send naming an incarnation of up to 64 characters', () => {
    fc.assert(
      fc.property(
        id,
        id,
        fc.string({ minLength: 1, maxLength: 128 }),
        fc.option(fc.jsonValue(), { nil: undefined }),
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.oneof(
          fc.double({ min: -1e21, max: 1e21, noNaN: true }),
          // The longest a finite number prints.
          fc.constantFrom(-Number.MAX_VALUE, -2.2250738585072014e-308, -1 / 3),
        ),
        fc.stringMatching(/^[A-Za-z0-9_-]{64}$/),
        (taskId, dispatcherId, handler, payload, attempt, deadline, incarnation) => {
          const payloadJson = payload === undefined ? undefined : JSON.stringify(payload);
          const sender = { replyTo: dispatcherId, maxBytes: 536_870_912 };
          const first = encodeCompactTask(taskId, attempt, handler, deadline, payloadJson);
          const again = encodeCompactResend(
            taskId,
            attempt,
            handler,
            deadline,
            incarnation,
            payloadJson,
          );
          const exact = exactTaskBytes(taskId, dispatcherId, handler, payloadJson);
          const framed = (part: string) => frameOverhead(1, sender) + Buffer.byteLength(part);
          expect(framed(first)).toBeLessThanOrEqual(exact);
          expect(framed(again)).toBeLessThanOrEqual(exact);
          expect(exact).toBeLessThanOrEqual(roughTaskBytes(taskId, dispatcherId, payloadJson));
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('trace context bytes', () => {
  const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${n}}$`));
  // Printable ASCII without , and =, quotes and backslashes included: the worst to escape.
  const value = fc.stringMatching(/^[\x21-\x2b\x2d-\x3c\x3e-\x7e]{1,60}$/);
  const trace = fc.record(
    {
      traceparent: fc.tuple(hex(32), hex(16)).map(([t, s]) => `00-${t}-${s}-01`),
      tracestate: fc
        .array(value, { minLength: 1, maxLength: 8 })
        .map((values) => values.map((v, i) => `k${i}=${v}`).join(',')),
    },
    { requiredKeys: ['traceparent'] },
  );

  it('bound what a trace context adds to a task and to its re-send', () => {
    fc.assert(
      fc.property(
        id,
        id,
        trace,
        fc.option(fc.jsonValue(), { nil: undefined }),
        (taskId, dispatcherId, t, payload) => {
          const payloadJson = payload === undefined ? undefined : JSON.stringify(payload);
          const sender = { replyTo: dispatcherId, maxBytes: 536_870_912 };
          const framed = (part: string) => frameOverhead(1, sender) + Buffer.byteLength(part);
          const bound = exactTaskBytes(taskId, dispatcherId, 'h', payloadJson) + traceBytes(t);
          expect(
            framed(encodeCompactTask(taskId, 1_000_000, 'h', -Number.MAX_VALUE, payloadJson, t)),
          ).toBeLessThanOrEqual(bound);
          const incarnation = 'i'.repeat(64);
          expect(
            framed(
              encodeCompactResend(
                taskId,
                1_000_000,
                'h',
                -Number.MAX_VALUE,
                incarnation,
                payloadJson,
                t,
              ),
            ),
          ).toBeLessThanOrEqual(bound);
        },
      ),
      { numRuns: 300 },
    );
    expect(traceBytes(undefined)).toBe(0);
  });
});
