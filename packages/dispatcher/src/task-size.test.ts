import { encodeCompactResend, encodeCompactTask, frameOverhead } from '@ringcast/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { exactTaskBytes, roughTaskBytes } from './task-size.js';

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
