import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decode,
  encodeCompactResend,
  encodeCompactTask,
  encodeFrame,
  encodeMessage,
} from './codec.js';
import { CompactKind } from './compact-messages.js';
import type { TaskMessage } from './messages.js';
import { isValidTraceparent, isValidTracestate, type TraceContext } from './trace-context.js';

const RUNS = 300;
const sender = { replyTo: 'd1' };

const hex = (length: number) =>
  fc
    .string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: length, maxLength: length })
    .filter((s) => /[^0]/.test(s));
const traceparentArb = fc
  .tuple(hex(32), hex(16), fc.integer({ min: 0, max: 255 }))
  .map(([trace, span, flags]) => `00-${trace}-${span}-${flags.toString(16).padStart(2, '0')}`);
const valueChar = fc.constantFrom(
  ...Array.from({ length: 0x7f - 0x20 }, (_, i) => String.fromCharCode(0x20 + i)).filter(
    (c) => c !== ',' && c !== '=',
  ),
);
const memberArb = fc
  .tuple(
    fc.stringMatching(/^[a-z][a-z0-9_*/-]{0,8}$/),
    fc.string({ unit: valueChar, minLength: 0, maxLength: 20 }),
    fc.string({ unit: valueChar, minLength: 1, maxLength: 1 }).filter((c) => c !== ' '),
  )
  .map(([key, value, last]) => ({ key, text: `${key}=${value}${last}` }));
const tracestateArb = fc
  .uniqueArray(memberArb, { minLength: 1, maxLength: 32, selector: (m) => m.key })
  .map((members) => members.map((m) => m.text).join(','))
  .filter((s) => s.length <= 512);
const traceArb: fc.Arbitrary<TraceContext> = fc.record(
  { traceparent: traceparentArb, tracestate: tracestateArb },
  { requiredKeys: ['traceparent'] },
);

function decodeOne(part: string): { task: TaskMessage; dropped: number } {
  const decoded = decode(encodeFrame([part], sender));
  if (!decoded.ok) throw decoded.error;
  expect(decoded.rejected).toEqual([]);
  return { task: decoded.messages[0] as TaskMessage, dropped: decoded.dropped?.length ?? 0 };
}

describe('trace context properties', () => {
  it('generated contexts are valid, and travel whole in every task form', () => {
    fc.assert(
      fc.property(traceArb, fc.boolean(), (trace, withPayload) => {
        expect(isValidTraceparent(trace.traceparent)).toBe(true);
        if (trace.tracestate !== undefined) expect(isValidTracestate(trace.tracestate)).toBe(true);
        const payload = withPayload ? '{"a":[1,"x"]}' : undefined;
        const forms = [
          encodeCompactTask('t', 1, 'h', 5, payload, trace),
          encodeCompactResend('t', 1, 'h', 5, 'inc', payload, trace),
          encodeMessage({
            kind: 'task',
            id: 't',
            attempt: 1,
            token: 't.1',
            handler: 'h',
            deadline: 5,
            replyTo: 'd1',
            ...trace,
          }),
        ];
        for (const form of forms) {
          const { task, dropped } = decodeOne(form);
          expect(dropped).toBe(0);
          expect(task.traceparent).toBe(trace.traceparent);
          expect(task.tracestate).toBe(trace.tracestate);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('whatever sits in the trace slot, the task is kept, and only a valid context comes out', () => {
    const junk = fc.oneof(
      fc.jsonValue({ maxDepth: 2 }),
      fc.tuple(fc.oneof(traceparentArb, fc.string()), fc.oneof(tracestateArb, fc.string())),
      traceparentArb.map((t) => t.replace(/.$/, (c) => (c === '0' ? 'G' : c))),
      traceparentArb.map((t) => t.toUpperCase()),
    );
    fc.assert(
      fc.property(junk, (trace) => {
        const raw = JSON.stringify([CompactKind.TRACED_TASK, 't', 1, 'h', 5, trace]);
        const { task, dropped } = decodeOne(raw);
        expect(task.id).toBe('t');
        if (task.traceparent !== undefined) expect(isValidTraceparent(task.traceparent)).toBe(true);
        if (task.tracestate !== undefined) expect(isValidTracestate(task.tracestate)).toBe(true);
        // Whatever was not kept was reported.
        const keptAll =
          task.traceparent !== undefined &&
          (typeof trace === 'string' ||
            (Array.isArray(trace) && trace.length === 2 && task.tracestate === trace[1]));
        expect(dropped > 0).toBe(!keptAll);
      }),
      { numRuns: RUNS },
    );
  });
});
