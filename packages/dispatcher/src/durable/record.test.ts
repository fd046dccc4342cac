import { ErrorCode, PRIORITY_MAX, PRIORITY_MIN } from '@ringcast/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeLegacyRecord } from '../testing/legacy-record.js';
import { type DurableRecord, encodeRecord, isTerminal, TASK_STATES } from './record.js';
import { decodeRecord, MalformedRecords } from './record-decode.js';
import { specHead } from './record-spec.js';

const idArb = fc.stringMatching(/^[A-Za-z0-9_.-]{1,128}$/);
const epochArb = fc.integer({ min: 0, max: 2 ** 42 - 1 });
const countArb = fc.integer({ min: 0, max: 1_000_000 });
const jsonArb = fc.jsonValue().filter((value) => !JSON.stringify(value).includes('__proto__'));

const recordArb: fc.Arbitrary<DurableRecord> = fc
  .record(
    {
      id: idArb,
      handler: fc.string({ minLength: 1, maxLength: 128 }),
      payload: jsonArb,
      state: fc.constantFrom(...TASK_STATES),
      priority: fc.integer({ min: PRIORITY_MIN, max: PRIORITY_MAX }),
      attempts: countArb,
      worker: idArb,
      owner: idArb,
      createdAt: epochArb,
      startedAt: epochArb,
      finishedAt: epochArb,
      runAt: epochArb,
      expiresAt: epochArb,
      timeoutMs: countArb,
      retries: countArb,
      resultTtlMs: fc.integer({ min: 1, max: 2 ** 31 }),
      key: fc.string({ minLength: 1, maxLength: 512 }),
      result: jsonArb,
      error: fc.record(
        {
          code: fc.constantFrom(...Object.values(ErrorCode)),
          message: fc.string({ maxLength: 100 }),
          remote: fc.record(
            {
              name: fc.string({ minLength: 1, maxLength: 20 }),
              message: fc.string({ maxLength: 100 }),
              retryable: fc.boolean(),
              code: fc.string({ minLength: 1, maxLength: 64 }),
            },
            { requiredKeys: ['name', 'message', 'retryable'] },
          ),
        },
        { requiredKeys: ['code', 'message'] },
      ),
      cancelRequested: fc.boolean(),
      trace: fc.record(
        {
          traceparent: fc.constantFrom(
            '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
            '00-0000000000000000000000000000000a-000000000000000b-00',
          ),
          tracestate: fc.constantFrom('rojo=00f067aa0ba902b7', 'a=1,b@c="x\\y"'),
        },
        { requiredKeys: ['traceparent'] },
      ),
    },
    {
      requiredKeys: [
        'id',
        'handler',
        'state',
        'priority',
        'attempts',
        'createdAt',
        'timeoutMs',
        'retries',
        'resultTtlMs',
        'cancelRequested',
      ],
    },
  )
  // An active task always has its owner; a finished one reads as having none.
  .filter((record) => record.state !== 'active' || record.owner !== undefined)
  .filter((record) => !isTerminal(record.state) || record.owner === undefined);

/** The hash fields of a waiting task with nothing optional set, a field each (the layout before `spec`). */
function minimalFields(): Record<string, string> {
  return encodeLegacyRecord({
    id: 't',
    handler: 'h',
    state: 'waiting',
    priority: 0,
    attempts: 0,
    createdAt: 1,
    timeoutMs: 1,
    retries: 0,
    resultTtlMs: 1,
    cancelRequested: false,
  });
}

describe('durable record', () => {
  it('reads back exactly what it wrote, over random records', () => {
    fc.assert(
      fc.property(recordArb, (record) => {
        const malformed = new MalformedRecords();
        const fields = encodeRecord(record);
        for (const value of Object.values(fields)) expect(typeof value).toBe('string');
        // JSON values come back as JSON carries them (-0 as 0).
        const expected = { ...record };
        if ('payload' in record) expected.payload = JSON.parse(JSON.stringify(record.payload));
        if ('result' in record) expected.result = JSON.parse(JSON.stringify(record.result));
        expect(decodeRecord(fields, malformed, record.id)).toEqual(expected);
        expect(malformed.total).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it('reads a record of the layout before `spec` (a field each) as the same record', () => {
    fc.assert(
      fc.property(recordArb, (record) => {
        const malformed = new MalformedRecords();
        const packed = decodeRecord(encodeRecord(record), malformed, record.id);
        expect(decodeRecord(encodeLegacyRecord(record), malformed, record.id)).toEqual(packed);
        expect(malformed.total).toBe(0);
      }),
      { numRuns: 200 },
    );
  });

  it('packs the immutable part in one field: a new task is state, spec and payload', () => {
    const fields = encodeRecord({
      id: 't',
      handler: 'h',
      payload: { a: 1 },
      state: 'waiting',
      priority: -3,
      attempts: 0,
      createdAt: 1_000,
      timeoutMs: 5,
      retries: 2,
      resultTtlMs: 60_000,
      expiresAt: 9_000,
      cancelRequested: false,
    });
    expect(Object.keys(fields).sort()).toEqual(['payload', 'spec', 'state']);
    // What the scripts read of it (spec_head), as the memory store mirrors them.
    expect(specHead(fields['spec'])).toEqual(['-3', '1000', '60000', '9000']);
    expect(
      specHead(encodeRecord({ ...decodeRecord(fields, new MalformedRecords(), 't')! }).spec),
    ).toEqual(['-3', '1000', '60000', '9000']);
  });

  it.each([
    ['not JSON', '[1,0,', 'spec'],
    ['another version', '[2,0,1,1,null,null,1,0,"h"]', 'spec'],
    ['a priority as text', '[1,"0",1,1,null,null,1,0,"h"]', 'priority'],
    ['a fractional TTL', '[1,0,1,1.5,null,null,1,0,"h"]', 'resultTtlMs'],
    ['an expiry as text', '[1,0,1,1,"soon",null,1,0,"h"]', 'expiresAt'],
    ['no handler', '[1,0,1,1,null,null,1,0]', 'handler'],
    ['no id to read it by', '[1,0,1,1,null,null,1,0,"h"]', 'id'],
    ['a numeric handler', '[1,0,1,1,null,null,1,0,7]', 'handler'],
  ])('refuses a spec with %s, naming the field', (_what, spec, field) => {
    const malformed = new MalformedRecords();
    const id = field === 'id' ? undefined : 't';
    expect(decodeRecord({ state: 'waiting', spec }, malformed, id)).toBeUndefined();
    expect(malformed.snapshot()).toEqual({ [field]: 1 });
  });

  it('reads a packed record without attempts as attempts 0, and checks them when present', () => {
    const spec = '[1,0,1,1,null,null,1,0,"h"]';
    const read = decodeRecord({ state: 'waiting', spec }, new MalformedRecords(), 't');
    expect(read?.attempts).toBe(0);
    const malformed = new MalformedRecords();
    expect(
      decodeRecord({ state: 'waiting', spec, attempts: '01' }, malformed, 't'),
    ).toBeUndefined();
    expect(malformed.snapshot()).toEqual({ attempts: 1 });
  });

  it('never throws on whatever a hash holds, and counts each record it refuses', () => {
    const fieldArb = fc.constantFrom(
      'id',
      'handler',
      'state',
      'priority',
      'attempts',
      'createdAt',
      'timeoutMs',
      'retries',
      'resultTtlMs',
      'payload',
      'error',
      'owner',
      'cancel',
      'spec',
      '__proto__',
    );
    const valueArb = fc.oneof(
      fc.string(),
      fc.constantFrom(
        '0',
        '1',
        '-1',
        'waiting',
        'active',
        '{"a":1}',
        'null',
        '1e3',
        '007',
        '[1,0,1,1,null,null,1,0,"h"]',
        '[1,0,1,1,"x",null,1,0,"h",null,"junk"]',
      ),
    );
    fc.assert(
      fc.property(fc.dictionary(fieldArb, valueArb), (hash) => {
        const malformed = new MalformedRecords();
        const record = decodeRecord(hash, malformed);
        if (Object.keys(hash).length === 0) expect(malformed.total).toBe(0);
        else expect(malformed.total).toBe(record === undefined ? 1 : 0);
      }),
      { numRuns: 500 },
    );
  });

  describe('trace context', () => {
    const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

    it('is absent from a record stored without one, as from records older than tracing', () => {
      const fields = minimalFields();
      expect(Object.keys(fields)).not.toContain('traceparent');
      expect(decodeRecord(fields, new MalformedRecords())).not.toHaveProperty('trace');
    });

    it.each([
      ['an invalid traceparent', { traceparent: 'junk', tracestate: 'a=1' }, undefined],
      ['a tracestate alone', { tracestate: 'a=1' }, undefined],
      [
        'an invalid tracestate',
        { traceparent: TRACEPARENT, tracestate: 'A=1' },
        { traceparent: TRACEPARENT },
      ],
    ])('reads %s as what validates of it, and the task still reads', (_, change, trace) => {
      const malformed = new MalformedRecords();
      const record = decodeRecord({ ...minimalFields(), ...change }, malformed);
      expect(record?.id).toBe('t');
      expect(record?.trace).toEqual(trace);
      expect(malformed.total).toBe(0);
    });
  });

  it("ignores a finished task's owner field, which its terminal write leaves", () => {
    const finished = { ...minimalFields(), state: 'succeeded', owner: 'd1' };
    expect(decodeRecord(finished, new MalformedRecords(), 't')).not.toHaveProperty('owner');
    const running = { ...minimalFields(), state: 'active', owner: 'd1' };
    expect(decodeRecord(running, new MalformedRecords(), 't')).toMatchObject({ owner: 'd1' });
  });

  it('reads no hash as no record, without counting it', () => {
    const malformed = new MalformedRecords();
    expect(decodeRecord({}, malformed)).toBeUndefined();
    expect(malformed.total).toBe(0);
  });

  it.each([
    ['a leading zero', { attempts: '01' }, 'attempts'],
    ['an exponent', { createdAt: '1e3' }, 'createdAt'],
    ['a creation time beyond 2^42', { createdAt: String(2 ** 42) }, 'createdAt'],
    ['a signed zero', { retries: '-0' }, 'retries'],
    ['no handler', { handler: undefined }, 'handler'],
    ['a cancel flag other than 1', { cancel: 'yes' }, 'cancel'],
    ['an error that is not an object', { error: '"boom"' }, 'error'],
    [
      'a remote error without retryable',
      { error: '{"code":"HANDLER_ERROR","message":"m","remote":{"name":"E","message":"m"}}' },
      'error',
    ],
  ])('refuses %s, naming the field', (_what, change, field) => {
    const fields = minimalFields();
    for (const [name, value] of Object.entries(change)) {
      if (value === undefined) delete fields[name];
      else fields[name] = value;
    }
    const malformed = new MalformedRecords();
    expect(decodeRecord(fields, malformed)).toBeUndefined();
    expect(malformed.snapshot()).toEqual({ [field]: 1 });
  });
});
