import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type DurableRecord, encodeRecord } from './record.js';
import { decodeRecord, MalformedRecords } from './record-decode.js';
import { checkNewRecord } from './requests.js';

// Mostly valid values, so that a record is refused for one field at a time; the rest near and
// beyond every bound a record's fields have, and of the wrong type.
const numberArb = fc.oneof(
  { arbitrary: fc.integer({ min: 1, max: 1000 }), weight: 12 },
  {
    arbitrary: fc.constantFrom(
      0,
      -1,
      1.5,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      -0,
      2 ** 42,
      2 ** 42 - 1,
      1001,
      -1000,
      -1001,
      2 ** 53,
      '1',
      null,
    ) as fc.Arbitrary<number>,
    weight: 1,
  },
);
const textArb = fc.oneof(
  { arbitrary: fc.stringMatching(/^[A-Za-z0-9_.-]{1,12}$/), weight: 12 },
  {
    arbitrary: fc.constantFrom(
      '',
      'a b',
      'x'.repeat(128),
      'x'.repeat(129),
      'x'.repeat(513),
      7,
      null,
    ) as fc.Arbitrary<string>,
    weight: 1,
  },
);

const newRecordArb = fc.record(
  {
    id: textArb,
    handler: textArb,
    priority: numberArb,
    createdAt: numberArb,
    timeoutMs: numberArb,
    retries: numberArb,
    resultTtlMs: numberArb,
    runAt: numberArb,
    expiresAt: numberArb,
    key: textArb,
    owner: textArb,
  },
  {
    requiredKeys: ['id', 'handler', 'priority', 'createdAt', 'timeoutMs', 'retries', 'resultTtlMs'],
  },
);

describe('a new record check', () => {
  it('refuses exactly the records a read would refuse', () => {
    let accepted = 0;
    fc.assert(
      fc.property(newRecordArb, (values) => {
        const record = {
          ...values,
          state: values.owner === undefined ? 'waiting' : 'active',
          attempts: 0,
          cancelRequested: false,
        } as unknown as DurableRecord;
        for (const name of ['runAt', 'expiresAt', 'key', 'owner'] as const) {
          if (record[name] === undefined) delete record[name];
        }
        let checked = true;
        try {
          checkNewRecord(record);
        } catch {
          checked = false;
        }
        let readable: boolean;
        try {
          const malformed = new MalformedRecords();
          readable = decodeRecord(encodeRecord(record), malformed, record.id) !== undefined;
        } catch {
          readable = false;
        }
        // A null optional value is refused, though a packed record would leave it out.
        const nulls = ['runAt', 'expiresAt', 'key', 'owner'].some(
          (name) => (record as unknown as Record<string, unknown>)[name] === null,
        );
        expect(checked).toBe(readable && !nulls);
        if (checked) accepted++;
      }),
      { numRuns: 2_000 },
    );
    // Both verdicts were met often enough to mean something.
    expect(accepted).toBeGreaterThan(200);
    expect(accepted).toBeLessThan(1_800);
  });
});
