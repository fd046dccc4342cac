import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  assertNoForbiddenKeys,
  checkEncodedMessage,
  type DecodeResult,
  decode,
  encode,
  encodeCompactOk,
  encodeFrame,
  encodeMessage,
  quote,
} from './codec.js';
import { ErrorCode, ProtocolError } from './errors.js';
import { MAX_MESSAGE_BYTES, MIN_MESSAGE_BYTES } from './limits.js';
import { type Message, NackReason, PROTOCOL_VERSION, type WorkerInfo } from './messages.js';
import { parseMessage } from './parse-message.js';

// Each property is bounded so the whole file runs well under five seconds.
const RUNS = 300;

function isSafe(value: unknown): boolean {
  try {
    assertNoForbiddenKeys(value);
    return true;
  } catch {
    return false;
  }
}

// fast-check deliberately generates keys such as "__proto__", which decode refuses, and
// -0, which JSON carries as 0; the round trip draws payloads JSON and decode both carry.
const json = fc
  .jsonValue({ maxDepth: 4 })
  .filter(isSafe)
  .map((v) => JSON.parse(JSON.stringify(v)) as unknown);
const anyText = fc.oneof(
  fc.string({ unit: 'grapheme-ascii' }),
  fc.string({ unit: 'grapheme' }),
  fc.string({ unit: 'binary' }),
  // Lone surrogates included: JSON.stringify escapes them.
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)) }),
);
const text = (max: number) =>
  anyText.filter((s) => s.length >= 1 && s.length <= max) as fc.Arbitrary<string>;
const idArb = fc.stringMatching(/^[A-Za-z0-9_.-]{1,128}$/);
const finite = fc
  .double({ noNaN: true, noDefaultInfinity: true })
  .map((n) => (Object.is(n, -0) ? 0 : n));

const taskArb = fc.record(
  {
    kind: fc.constant('task' as const),
    id: text(128),
    attempt: fc.integer({ min: 1, max: 1_000_000 }),
    token: text(64),
    handler: text(128),
    payload: json,
    deadline: finite,
    replyTo: idArb,
  },
  { requiredKeys: ['kind', 'id', 'attempt', 'token', 'handler', 'deadline', 'replyTo'] },
);
const cancelArb = fc.record({
  kind: fc.constant('cancel' as const),
  id: text(128),
  token: text(64),
});
const ackArb = fc.record({
  kind: fc.constant('ack' as const),
  id: text(128),
  token: text(64),
  worker: idArb,
});
const nackArb = fc.record(
  {
    kind: fc.constant('nack' as const),
    id: text(128),
    token: text(64),
    worker: idArb,
    reason: fc.constantFrom(...Object.values(NackReason)),
    message: anyText.filter((s) => s.length <= 8192),
  },
  { requiredKeys: ['kind', 'id', 'token', 'worker', 'reason'] },
);
const okResultArb = fc.record(
  {
    kind: fc.constant('result' as const),
    id: text(128),
    token: text(64),
    worker: idArb,
    ok: fc.constant(true as const),
    value: json,
  },
  { requiredKeys: ['kind', 'id', 'token', 'worker', 'ok'] },
);
const errorResultArb = fc.record({
  kind: fc.constant('result' as const),
  id: text(128),
  token: text(64),
  worker: idArb,
  ok: fc.constant(false as const),
  error: fc.record(
    {
      name: text(128),
      message: anyText.filter((s) => s.length <= 8192),
      retryable: fc.boolean(),
      code: text(64),
    },
    { requiredKeys: ['name', 'message', 'retryable'] },
  ),
});
const workerInfoArb: fc.Arbitrary<WorkerInfo> = fc.record(
  {
    id: idArb,
    incarnation: text(64),
    weight: fc.integer({ min: 1, max: 1_000_000 }),
    concurrency: fc.integer({ min: 1, max: 1_000_000 }),
    maxQueue: fc.integer({ min: 0, max: 1_000_000 }),
    heartbeatTtlMs: fc.integer({ min: 0, max: 86_400_000 }),
    heartbeatIntervalMs: fc.integer({ min: 1, max: 86_400_000 }),
    maxMessageBytes: fc.integer({ min: MIN_MESSAGE_BYTES, max: MAX_MESSAGE_BYTES }),
    handlers: fc.array(text(128), { maxLength: 8 }),
    host: anyText.filter((s) => s.length <= 256),
    pid: fc.integer({ min: -1, max: 4_194_304 }),
    version: anyText.filter((s) => s.length <= 64),
    startedAt: finite,
    traceContext: fc.constant(true as const),
  },
  {
    requiredKeys: [
      'id',
      'incarnation',
      'weight',
      'concurrency',
      'maxQueue',
      'heartbeatTtlMs',
      'maxMessageBytes',
      'handlers',
      'host',
      'pid',
      'version',
      'startedAt',
    ],
  },
);
const helloArb = fc.record({ kind: fc.constant('hello' as const), worker: workerInfoArb });
const leaveArb = fc.record({
  kind: fc.constant('leave' as const),
  id: idArb,
  incarnation: text(64),
});

const reweightArb = fc.record(
  {
    kind: fc.constant('reweight' as const),
    id: idArb,
    incarnation: text(64),
    weight: fc.integer({ min: 1, max: 1_000_000 }),
  },
  { requiredKeys: ['kind', 'id', 'weight'] },
);
const drainArb = fc.record(
  { kind: fc.constant('drain' as const), id: idArb, incarnation: text(64) },
  { requiredKeys: ['kind', 'id'] },
);

const messageArb: fc.Arbitrary<Message> = fc.oneof(
  taskArb,
  cancelArb,
  ackArb,
  nackArb,
  okResultArb,
  errorResultArb,
  helloArb,
  leaveArb,
  reweightArb,
  drainArb,
);

const codes = new Set<string>(Object.values(ErrorCode));

/** What decode promises for any input at all. */
function checkOutcome(result: DecodeResult): void {
  if (!result.ok) {
    expect(result.error).toBeInstanceOf(ProtocolError);
    expect([
      ErrorCode.INVALID_MESSAGE,
      ErrorCode.PAYLOAD_TOO_LARGE,
      ErrorCode.UNSUPPORTED_VERSION,
    ]).toContain(result.error.code);
    return;
  }
  expect(result.messages.length + result.rejected.length).toBeGreaterThan(0);
  for (const message of result.messages) {
    expect(parseMessage(message)).toEqual(message);
    assertNoForbiddenKeys(message);
  }
  for (const { error } of result.rejected) {
    expect(error).toBeInstanceOf(ProtocolError);
    expect(codes.has(error.code)).toBe(true);
  }
}

/** decode must not throw, on text or on the same bytes. */
function decodeBoth(frame: string, maxBytes?: number): void {
  const options = maxBytes === undefined ? {} : { maxBytes };
  checkOutcome(decode(frame, options));
  checkOutcome(decode(Buffer.from(frame, 'utf8'), options));
}

const frameArb = fc.array(messageArb, { minLength: 1, maxLength: 4 }).map(encode);

type Mutation = (frame: string) => string;
const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.nat().map(
    (at): Mutation =>
      (f) =>
        f.slice(0, at % (f.length + 1)),
  ),
  fc.tuple(fc.nat(), fc.string({ minLength: 1, maxLength: 4 })).map(
    ([at, s]): Mutation =>
      (f) => {
        const i = at % (f.length + 1);
        return f.slice(0, i) + s + f.slice(i);
      },
  ),
  fc
    .tuple(fc.nat(), fc.constantFrom('"', '{', '}', '[', ']', ',', ':', '\\', '\\u', '0', '-', ' '))
    .map(
      ([at, s]): Mutation =>
        (f) => {
          const i = at % (f.length + 1);
          return f.slice(0, i) + s + f.slice(i);
        },
    ),
  fc.tuple(fc.nat(), fc.nat({ max: 8 })).map(
    ([at, n]): Mutation =>
      (f) => {
        const i = at % (f.length + 1);
        return f.slice(0, i) + f.slice(i + n);
      },
  ),
);

/** Byte-level damage, which can also leave broken UTF-8 behind. */
const byteFlipArb = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), {
  minLength: 1,
  maxLength: 4,
});

describe('decode never throws', () => {
  let before: string[];
  beforeAll(() => {
    before = Object.getOwnPropertyNames(Object.prototype).sort();
  });
  afterAll(() => {
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(before);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('on random strings', () => {
    fc.assert(
      fc.property(anyText, (s) => decodeBoth(s)),
      { numRuns: RUNS },
    );
  });

  it('on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), fc.option(fc.nat({ max: 600 })), (b, max) => {
        checkOutcome(decode(b, max === null ? {} : { maxBytes: max }));
      }),
      { numRuns: RUNS },
    );
  });

  it('on random JSON values', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => decodeBoth(JSON.stringify(value))),
      { numRuns: RUNS },
    );
  });

  it('on frames of random JSON values', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.constant(PROTOCOL_VERSION), fc.jsonValue({ maxDepth: 1 })),
        fc.array(fc.jsonValue({ maxDepth: 3 }), { minLength: 1, maxLength: 5 }),
        (v, m) => decodeBoth(JSON.stringify({ v, m })),
      ),
      { numRuns: RUNS },
    );
  });

  it('on message-shaped objects with random field values', () => {
    const fields = ['id', 'attempt', 'token', 'handler', 'payload', 'deadline', 'replyTo'].concat([
      'worker',
      'reason',
      'message',
      'ok',
      'value',
      'error',
      'incarnation',
    ]);
    const shaped = fc.record({
      kind: fc.constantFrom(
        'task',
        'cancel',
        'ack',
        'nack',
        'result',
        'hello',
        'leave',
        'reweight',
        'drain',
      ),
      fields: fc.dictionary(fc.constantFrom(...fields), fc.jsonValue({ maxDepth: 2 })),
    });
    fc.assert(
      fc.property(fc.array(shaped, { minLength: 1, maxLength: 4 }), (items) => {
        const m = items.map(({ kind, fields }) => ({ ...fields, kind }));
        decodeBoth(JSON.stringify({ v: PROTOCOL_VERSION, m }));
      }),
      { numRuns: RUNS },
    );
  });

  it('on valid frames damaged by truncation, insertion and deletion', () => {
    fc.assert(
      fc.property(frameArb, fc.array(mutationArb, { minLength: 1, maxLength: 3 }), (frame, ms) => {
        const damaged = ms.reduce((f, mutate) => mutate(f), frame);
        decodeBoth(damaged);
        decodeBoth(damaged, Math.max(0, Buffer.byteLength(frame) - 10));
      }),
      { numRuns: RUNS },
    );
  });

  it('on valid frames with flipped bytes', () => {
    fc.assert(
      fc.property(frameArb, byteFlipArb, (frame, flips) => {
        const bytes = Buffer.from(frame, 'utf8');
        for (const [at, mask] of flips) {
          const i = at % bytes.length;
          bytes[i] = bytes[i]! ^ mask;
        }
        checkOutcome(decode(bytes));
        checkOutcome(decode(bytes.toString('utf8')));
      }),
      { numRuns: RUNS },
    );
  });
});

describe('quote', () => {
  it('is JSON.stringify for every string', () => {
    const text = fc.oneof(
      fc.string({ unit: 'grapheme-ascii' }),
      fc.string({ unit: 'binary' }),
      fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)) }),
    );
    fc.assert(
      fc.property(text, (s) => quote(s) === JSON.stringify(s)),
      { numRuns: 10 * RUNS },
    );
    for (const s of ['', 'plain-id_0.1', '"', '\\', '\u0000', '\u007f', 'é', '\ud800']) {
      expect(quote(s)).toBe(JSON.stringify(s));
    }
  });
});

describe('round trip', () => {
  it('every valid message decodes to a deep-equal value', () => {
    fc.assert(
      fc.property(messageArb, (message) => {
        const result = decode(encode([message]));
        if (!result.ok) throw result.error;
        expect(result.rejected).toEqual([]);
        expect(result.messages).toEqual([message]);
      }),
      { numRuns: RUNS * 2 },
    );
  });

  it('batches of valid messages decode to the same list, from text or bytes', () => {
    fc.assert(
      fc.property(fc.array(messageArb, { minLength: 1, maxLength: 20 }), (messages) => {
        const frame = encodeFrame(messages.map(encodeMessage));
        for (const input of [frame, Buffer.from(frame, 'utf8')]) {
          const result = decode(input);
          if (!result.ok) throw result.error;
          expect(result.rejected).toEqual([]);
          // Bytes turn lone surrogates into U+FFFD, so compare with what JSON carried.
          const carried =
            typeof input === 'string' ? messages : JSON.parse(input.toString('utf8')).m;
          expect(result.messages).toEqual(carried);
        }
      }),
      { numRuns: RUNS },
    );
  });
});

describe('checkEncodedMessage', () => {
  // Values with forbidden keys, plain or spelled with \u escapes, among harmless ones.
  const key = fc.oneof(
    fc.string(),
    fc.constantFrom('__proto__', 'constructor', 'prototype', '\\u005f_proto__', 'proto\\u0074ype'),
  );
  const leaf = fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null));
  const tree = fc.letrec<{ node: string }>((tie) => ({
    node: fc.oneof(
      { depthSize: 'small' },
      leaf.map((v) => JSON.stringify(v)),
      fc.array(tie('node'), { maxLength: 4 }).map((items) => `[${items.join(',')}]`),
      fc
        .array(fc.tuple(key, tie('node')), { maxLength: 4 })
        // Keys go in raw, so that an escape in them stays an escape in the JSON.
        .map(
          (entries) =>
            `{${entries.map(([k, v]) => `"${k.replace(/["\\]/g, '')}":${v}`).join(',')}}`,
        ),
    ),
  })).node;
  const sender = { worker: 'w1', incarnation: 'inc1' };

  it('refuses exactly what decode drops from a frame of that message alone', () => {
    let refusals = 0;
    fc.assert(
      fc.property(tree, (valueJson) => {
        const encoded = encodeCompactOk('t1', 't1.1', valueJson);
        const result = decode(encodeFrame([encoded], sender));
        if (!result.ok) throw result.error;
        const refused = checkEncodedMessage(encoded);
        expect(refused === undefined).toBe(result.rejected.length === 0);
        if (refused) {
          refusals++;
          expect(refused.message).toBe(result.rejected[0]!.error.message);
        }
      }),
      { numRuns: RUNS * 2 },
    );
    expect(refusals, 'the values drawn must include refused ones').toBeGreaterThan(10);
  });

  it('refuses a message nested deeper than decode searches, once it could hold such a key', () => {
    const deep = `${'['.repeat(300)}"\\u0041"${']'.repeat(300)}`;
    expect(checkEncodedMessage(encodeCompactOk('t1', 't1.1', deep))?.message).toMatch(/deeper/);
    expect(checkEncodedMessage(encodeCompactOk('t1', 't1.1', '{"prototype":1}'))).toBeUndefined();
  });
});
