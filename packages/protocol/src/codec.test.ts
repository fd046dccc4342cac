import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  byteLength,
  type DecodeResult,
  decode,
  encode,
  encodeCompactAck,
  encodeCompactError,
  encodeCompactOk,
  encodeCompactOkValue,
  encodeCompactResend,
  encodeCompactTask,
  encodeFrame,
  encodeMessage,
  type FrameSender,
  frameOverhead,
} from './codec.js';
import { ErrorCode, ProtocolError, RingcastError } from './errors.js';
import { DEFAULT_MAX_MESSAGE_BYTES, MAX_BATCH } from './limits.js';
import {
  type AckMessage,
  type CancelMessage,
  type DrainMessage,
  type HelloMessage,
  type LeaveMessage,
  type Message,
  NackReason,
  type OkResultMessage,
  PROTOCOL_VERSION,
  type ReweightMessage,
  type TaskMessage,
} from './messages.js';
import { parseMessage, parseWorkerInfo } from './parse-message.js';

const task: TaskMessage = {
  kind: 'task',
  id: 't-1',
  attempt: 2,
  token: 'tok-1',
  handler: 'images.resize',
  payload: { url: 'https://example.com/a.png', sizes: [64, 128], crop: null, note: 'héllo ✓' },
  deadline: 1_700_000_000_123,
  replyTo: 'disp-1',
};
const cancel: CancelMessage = { kind: 'cancel', id: 't-1', token: 'tok-1' };
const ack: AckMessage = { kind: 'ack', id: 't-1', token: 'tok-1', worker: 'worker_1' };
const okResult: OkResultMessage = {
  kind: 'result',
  id: 't-1',
  token: 'tok-1',
  worker: 'worker_1',
  ok: true,
  value: [1, 'two', { three: 3 }],
};
const hello: HelloMessage = {
  kind: 'hello',
  worker: {
    id: 'worker_1',
    incarnation: 'inc-abc',
    weight: 3,
    concurrency: 16,
    maxQueue: 16,
    heartbeatTtlMs: 3000,
    heartbeatIntervalMs: 1000,
    maxMessageBytes: 65_536,
    handlers: ['images.resize', 'mail.send'],
    host: 'host-a.internal',
    pid: 4242,
    version: '0.1.0',
    startedAt: 1_700_000_000_000,
  },
};
const leave: LeaveMessage = { kind: 'leave', id: 'worker_1', incarnation: 'inc-abc' };
const reweight: ReweightMessage = { kind: 'reweight', id: 'worker_1', weight: 7 };
const drain: DrainMessage = { kind: 'drain', id: 'worker_1', incarnation: 'inc-abc' };

/** A frame written by hand, so invalid messages can be put on the wire. */
function rawFrame(...messages: unknown[]): string {
  return JSON.stringify({ v: PROTOCOL_VERSION, m: messages });
}

function expectFrameError(result: DecodeResult, code: ErrorCode): ProtocolError {
  expect(result.ok).toBe(false);
  if (result.ok) throw new Error('unreachable');
  expect(result.error).toBeInstanceOf(ProtocolError);
  expect(result.error).toBeInstanceOf(RingcastError);
  expect(result.error.code).toBe(code);
  return result.error;
}

function expectDecoded(result: DecodeResult) {
  expect(result.ok).toBe(true);
  if (!result.ok) throw new Error(`unexpected failure: ${result.error.message}`);
  return result;
}

describe('codec round trip', () => {
  const cases: Array<[string, Message]> = [
    ['task with payload', task],
    ['task without payload', { ...task, payload: undefined }],
    ['task with a falsy payload', { ...task, payload: 0 }],
    ['task with a null payload', { ...task, payload: null }],
    ['cancel', cancel],
    ['cancel naming the dispatcher that gives up', { ...cancel, from: 'd-1' }],
    ['ack', ack],
    ...Object.values(NackReason).map((reason): [string, Message] => [
      `nack ${reason}`,
      { kind: 'nack', id: 't-1', token: 'tok-1', worker: 'worker_1', reason },
    ]),
    [
      'nack with a message',
      {
        kind: 'nack',
        id: 't-1',
        token: 'tok-1',
        worker: 'worker_1',
        reason: 'UNKNOWN_HANDLER',
        message: 'no handler "x"',
      },
    ],
    ['result ok with value', okResult],
    ['result ok without value', { ...okResult, value: undefined }],
    ['result ok with a false value', { ...okResult, value: false }],
    [
      'result error with code',
      {
        kind: 'result',
        id: 't-1',
        token: 'tok-1',
        worker: 'worker_1',
        ok: false,
        error: { name: 'TypeError', message: 'x is undefined', retryable: true, code: 'E_X' },
      },
    ],
    [
      'result error without code, empty message',
      {
        kind: 'result',
        id: 't-1',
        token: 'tok-1',
        worker: 'worker_1',
        ok: false,
        error: { name: 'Error', message: '', retryable: false },
      },
    ],
    ['hello with full worker info', hello],
    ['hello of a reweight', { ...hello, reweight: true }],
    ['leave', leave],
    ['reweight', reweight],
    ['reweight for one incarnation', { ...reweight, incarnation: 'inc-abc' }],
    ['drain', drain],
    ['drain for any incarnation', { kind: 'drain', id: 'worker_1' }],
  ];

  it.each(cases)('%s', (_name, message) => {
    const frame = encode([message]);
    expect(frame.startsWith(`{"v":${PROTOCOL_VERSION},"m":[`)).toBe(true);
    const result = expectDecoded(decode(frame));
    expect(result.rejected).toEqual([]);
    // JSON drops undefined fields; the decoder must not invent them either.
    const expected = JSON.parse(JSON.stringify(message));
    expect(result.messages).toEqual([expected]);
    expect(result.messages[0]).toStrictEqual(expected);
  });

  it('decodes bytes as well as strings', () => {
    const frame = encode([task, ack]);
    const result = expectDecoded(decode(Buffer.from(frame, 'utf8')));
    expect(result.messages).toEqual([task, ack]);
    const plain = new Uint8Array(Buffer.from(frame, 'utf8'));
    expect(expectDecoded(decode(plain)).messages).toEqual([task, ack]);
  });

  it('decodes only the viewed slice of a Uint8Array', () => {
    const frame = Buffer.from(encode([ack]), 'utf8');
    const backing = new Uint8Array(frame.length + 20).fill(0x7b); // '{' garbage around it
    backing.set(frame, 10);
    const view = backing.subarray(10, 10 + frame.length);
    expect(expectDecoded(decode(view)).messages).toEqual([ack]);
  });

  it('carries several messages in one batch frame, in order', () => {
    const batch: Message[] = [task, cancel, ack, okResult, hello, leave, task];
    const frame = encode(batch);
    expect(JSON.parse(frame)).toEqual({
      v: PROTOCOL_VERSION,
      m: JSON.parse(JSON.stringify(batch)),
    });
    const result = expectDecoded(decode(frame));
    expect(result.messages).toEqual(batch);
    expect(result.rejected).toEqual([]);
  });

  it('accepts exactly MAX_BATCH messages', () => {
    const frame = encodeFrame(Array.from({ length: MAX_BATCH }, () => encodeMessage(ack)));
    expect(expectDecoded(decode(frame)).messages).toHaveLength(MAX_BATCH);
  });

  it('drops unknown extra fields', () => {
    const result = expectDecoded(decode(rawFrame({ ...ack, extra: 1, nested: { a: 1 } })));
    expect(result.messages).toStrictEqual([ack]);
  });

  it('returns copies, not the parsed objects, for fixed fields', () => {
    const result = expectDecoded(decode(rawFrame(hello)));
    expect(result.messages[0]).toEqual(hello);
  });
});

describe('encodeFrame and frameOverhead', () => {
  it.each([0, 1, 2, 3, 10])('frameOverhead(%i) + parts === frame length', (count) => {
    const parts = Array.from({ length: count }, (_, i) =>
      encodeMessage({ ...ack, id: `task-${'x'.repeat(i * 7)}` }),
    );
    const frame = encodeFrame(parts);
    const sum = parts.reduce((n, part) => n + part.length, 0);
    expect(frameOverhead(count) + sum).toBe(frame.length);
  });

  it('holds in bytes for multi-byte parts', () => {
    const parts = [task, { ...task, handler: 'ünïcödé-€-😀' }].map(encodeMessage);
    const frame = encodeFrame(parts);
    const sum = parts.reduce((n, part) => n + Buffer.byteLength(part, 'utf8'), 0);
    expect(frameOverhead(parts.length) + sum).toBe(Buffer.byteLength(frame, 'utf8'));
  });

  it('encode is encodeFrame of encodeMessage', () => {
    expect(encode([task, ack])).toBe(encodeFrame([encodeMessage(task), encodeMessage(ack)]));
  });

  it('encodeMessage throws on a payload JSON cannot carry', () => {
    expect(() => encodeMessage({ ...task, payload: 1n })).toThrow(TypeError);
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    expect(() => encodeMessage({ ...task, payload: cyclic })).toThrow(TypeError);
  });
});

describe('byteLength', () => {
  it('lands on the same side of the limit as the exact byte count', () => {
    for (const text of ['', 'abc', 'héllo', '€€€', '😀😀', 'a€😀', '\ud800x', 'x'.repeat(50)]) {
      const exact = Buffer.byteLength(text, 'utf8');
      for (let limit = 0; limit <= exact * 2 + 2; limit++) {
        expect(byteLength(text, limit) > limit, `${text} @ ${limit}`).toBe(exact > limit);
      }
    }
  });

  it('is exact when the UTF-16 length cannot settle it', () => {
    expect(byteLength('€€€', 8)).toBe(9);
    expect(byteLength('😀😀', 7)).toBe(8);
  });
});

describe('decode rejects unreadable frames', () => {
  it.each([
    ['a number', 42],
    ['null', null],
    ['undefined', undefined],
    ['an object', { v: 1, m: [] }],
    ['an array', [1, 2, 3]],
    ['an ArrayBuffer', new ArrayBuffer(4)],
  ])('input that is %s', (_name, input) => {
    const error = expectFrameError(decode(input as unknown as string), ErrorCode.INVALID_MESSAGE);
    expect(error.message).toMatch(/string or bytes/);
  });

  it.each(['', '{', 'nope', '{"v":1,"m":[}', "{'v':1}", '{"v":1,"m":[]}x', '\u0000'])(
    'invalid JSON %j',
    (text) => {
      expectFrameError(decode(text), ErrorCode.INVALID_MESSAGE);
    },
  );

  it('invalid UTF-8 bytes', () => {
    expectFrameError(decode(new Uint8Array([0xff, 0xfe, 0x7b])), ErrorCode.INVALID_MESSAGE);
  });

  it.each(['1', '"frame"', 'null', 'true'])('non-object root %s', (text) => {
    expect(expectFrameError(decode(text), ErrorCode.INVALID_MESSAGE).message).toMatch(/object/);
  });

  it.each(['[]', `[${encode([ack])}]`])('array root %s', (text) => {
    expect(expectFrameError(decode(text), ErrorCode.INVALID_MESSAGE).message).toMatch(/object/);
  });

  it.each([
    ['missing', { m: [ack] }],
    ['a string', { v: '1', m: [ack] }],
    ['null', { v: null, m: [ack] }],
    ['a boolean', { v: true, m: [ack] }],
  ])('version %s', (_name, frame) => {
    const error = expectFrameError(decode(JSON.stringify(frame)), ErrorCode.INVALID_MESSAGE);
    expect(error.message).toMatch(/version/);
  });

  it.each([0, 1, 3, 1.5, -1, 99])('version %s is UNSUPPORTED_VERSION', (v) => {
    const error = expectFrameError(
      decode(JSON.stringify({ v, m: [ack] })),
      ErrorCode.UNSUPPORTED_VERSION,
    );
    expect(error.message).toContain(String(v));
  });

  it.each([
    ['missing', { v: PROTOCOL_VERSION }],
    ['an object', { v: PROTOCOL_VERSION, m: { 0: ack } }],
    ['a string', { v: PROTOCOL_VERSION, m: 'ack' }],
    ['null', { v: PROTOCOL_VERSION, m: null }],
    ['empty', { v: PROTOCOL_VERSION, m: [] }],
  ])('"m" %s', (_name, frame) => {
    expectFrameError(decode(JSON.stringify(frame)), ErrorCode.INVALID_MESSAGE);
  });

  it('"m" with more than MAX_BATCH messages', () => {
    const frame = encodeFrame(Array.from({ length: MAX_BATCH + 1 }, () => '0'));
    expectFrameError(decode(frame), ErrorCode.INVALID_MESSAGE);
  });
});

describe('decode size limit', () => {
  let parse: ReturnType<typeof vi.spyOn>;
  beforeEach(() => {
    parse = vi.spyOn(JSON, 'parse');
  });
  afterEach(() => {
    parse.mockRestore();
  });

  function expectTooLarge(data: string | Uint8Array, maxBytes: number) {
    expectFrameError(decode(data, { maxBytes }), ErrorCode.PAYLOAD_TOO_LARGE);
    expect(parse).not.toHaveBeenCalled();
  }

  function expectParsed(data: string | Uint8Array, maxBytes: number) {
    const result = decode(data, { maxBytes });
    if (!result.ok) expect(result.error.code).not.toBe(ErrorCode.PAYLOAD_TOO_LARGE);
    expect(parse).toHaveBeenCalledTimes(1);
  }

  it('rejects an ASCII string over the limit without parsing it', () => {
    expectTooLarge(`${encode([ack])} `.padEnd(101, ' '), 100);
  });

  it('rejects the default limit plus one byte without parsing it', () => {
    const frame = encode([{ ...task, payload: 'x'.repeat(DEFAULT_MAX_MESSAGE_BYTES) }]);
    expectTooLarge(frame, DEFAULT_MAX_MESSAGE_BYTES);
    expect(decode(frame, { maxBytes: frame.length }).ok).toBe(true);
  });

  it('rejects a multi-byte string whose UTF-16 length is under the limit', () => {
    // 34 × '€' is 34 UTF-16 units but 102 bytes.
    expectTooLarge('€'.repeat(34), 100);
  });

  it('rejects astral characters by their four UTF-8 bytes', () => {
    // 26 × '😀' is 52 UTF-16 units but 104 bytes.
    expectTooLarge('😀'.repeat(26), 100);
  });

  it('parses a multi-byte string of exactly the limit', () => {
    expectParsed(`${'€'.repeat(33)}x`, 100); // 100 bytes
  });

  it('parses astral characters up to the limit', () => {
    expectParsed('😀'.repeat(25), 100); // 100 bytes
  });

  it('rejects bytes over the limit without parsing them', () => {
    expectTooLarge(Buffer.alloc(101, 0x20), 100);
    expectTooLarge(new Uint8Array(101), 100);
  });

  it('rejects a bytes view over the limit without parsing it', () => {
    expectTooLarge(new Uint8Array(1000).subarray(0, 101), 100);
  });

  it('parses bytes of exactly the limit', () => {
    expectParsed(Buffer.alloc(100, 0x20), 100);
  });

  it('accepts a valid frame of exactly the limit, refuses one byte less', () => {
    const frame = encode([{ ...task, payload: 'żółć €😀' }]);
    const bytes = Buffer.byteLength(frame, 'utf8');
    expect(bytes).toBeGreaterThan(frame.length);
    expect(expectDecoded(decode(frame, { maxBytes: bytes })).messages).toHaveLength(1);
    expect(expectDecoded(decode(Buffer.from(frame), { maxBytes: bytes })).messages).toHaveLength(1);
    parse.mockClear();
    expectTooLarge(frame, bytes - 1);
    expectTooLarge(Buffer.from(frame), bytes - 1);
  });
});

const MISSING = Symbol('missing');
type Path = string;

function withField(base: unknown, path: Path, value: unknown): unknown {
  const copy = structuredClone(base) as Record<string, unknown>;
  const keys = path.split('.');
  let target = copy;
  for (const key of keys.slice(0, -1)) target = target[key] as Record<string, unknown>;
  const last = keys.at(-1)!;
  if (value === MISSING) delete target[last];
  else target[last] = value;
  return copy;
}

const errorResult = {
  kind: 'result',
  id: 't-1',
  token: 'tok-1',
  worker: 'worker_1',
  ok: false,
  error: { name: 'Error', message: 'boom', retryable: false, code: 'E_BOOM' },
};
const nack = { kind: 'nack', id: 't-1', token: 'tok-1', worker: 'worker_1', reason: 'BUSY' };

const long = (n: number) => 'x'.repeat(n);
const textBad = [MISSING, 5, null, '', true, {}, ['a']];
const idBad = [...textBad, 'has:colon', 'has space', long(129), 'ümlaut'];
const tokenBad = [...textBad, long(65)];

const invalidCases: Array<[string, unknown, Path, unknown[]]> = [
  ['task', task, 'id', [...textBad, long(129)]],
  ['task', task, 'attempt', [MISSING, '1', 0, -1, 1.5, 1_000_001, null, true]],
  ['task', task, 'token', tokenBad],
  ['task', task, 'handler', [...textBad, long(129)]],
  ['task', task, 'deadline', [MISSING, '1700000000000', null, true, {}]],
  ['task', task, 'replyTo', idBad],
  ['cancel', cancel, 'id', [...textBad, long(129)]],
  ['cancel', cancel, 'token', tokenBad],
  ['cancel', cancel, 'from', idBad.filter((bad) => bad !== MISSING)],
  ['ack', ack, 'id', textBad],
  ['ack', ack, 'token', tokenBad],
  ['ack', ack, 'worker', idBad],
  ['nack', nack, 'id', textBad],
  ['nack', nack, 'token', tokenBad],
  ['nack', nack, 'worker', idBad],
  ['nack', nack, 'reason', [MISSING, 'NOPE', 'TIMEOUT', 'busy', 5, null]],
  ['result', okResult, 'id', textBad],
  ['result', okResult, 'token', tokenBad],
  ['result', okResult, 'worker', idBad],
  ['result', okResult, 'ok', [MISSING, 'true', 1, 0, null]],
  ['result', errorResult, 'error', [MISSING, 'boom', null, [], 5]],
  ['result', errorResult, 'error.name', [...textBad, long(129)]],
  ['result', errorResult, 'error.message', [MISSING, 5, null, {}, long(8193)]],
  ['result', errorResult, 'error.retryable', [MISSING, 'yes', 1, null]],
  ['result', errorResult, 'error.code', ['', 5, null, long(65)]],
  ['hello', hello, 'worker', [MISSING, null, [], 'worker_1', 5]],
  ['hello', hello, 'worker.id', idBad],
  ['hello', hello, 'worker.incarnation', tokenBad],
  ['hello', hello, 'worker.weight', [MISSING, 0, -1, 1.5, '1', 1_000_001, null]],
  ['hello', hello, 'worker.concurrency', [MISSING, 0, 2.5, '16', 1_000_001]],
  [
    'hello',
    hello,
    'worker.handlers',
    [MISSING, 'a', null, {}, [1], [''], [long(129)], ['ok', null], Array(1025).fill('h')],
  ],
  ['hello', hello, 'worker.startedAt', [MISSING, 'now', null, {}]],
  ['leave', leave, 'id', idBad],
  ['leave', leave, 'incarnation', tokenBad],
  ['reweight', reweight, 'id', idBad],
  ['reweight', reweight, 'weight', [MISSING, 0, -1, 1.5, '7', 1_000_001, null]],
  [
    'reweight',
    { ...reweight, incarnation: 'inc-abc' },
    'incarnation',
    tokenBad.filter((v) => v !== MISSING),
  ],
  ['drain', drain, 'id', idBad],
  ['drain', drain, 'incarnation', tokenBad.filter((v) => v !== MISSING)],
];

const flatCases = invalidCases.flatMap(([kind, base, path, values]) =>
  values.map((value): [string, string, string, unknown] => [
    kind,
    path,
    value === MISSING
      ? 'missing'
      : JSON.stringify(value).slice(0, 24) + (JSON.stringify(value).length > 24 ? '…' : ''),
    withField(base, path, value),
  ]),
);

describe('decode rejects invalid messages', () => {
  it.each(flatCases)('%s with %s %s', (_kind, _path, _value, bad) => {
    const result = expectDecoded(decode(rawFrame(bad)));
    expect(result.messages).toEqual([]);
    expect(result.rejected).toHaveLength(1);
    const { error } = result.rejected[0]!;
    expect(error).toBeInstanceOf(ProtocolError);
    expect(error).toBeInstanceOf(RingcastError);
    expect(error.code).toBe(ErrorCode.INVALID_MESSAGE);
    expect(() => parseMessage(bad)).toThrow(ProtocolError);
  });

  it('parseMessage rejects numbers JSON cannot carry', () => {
    for (const deadline of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      expect(() => parseMessage({ ...task, deadline })).toThrow(ProtocolError);
    }
    expect(() =>
      parseMessage({ ...hello, worker: { ...hello.worker, startedAt: Number.NaN } }),
    ).toThrow(ProtocolError);
  });

  it.each([
    ['unknown kind', { ...ack, kind: 'ping' }],
    ['missing kind', { id: 't-1', token: 'tok-1', worker: 'worker_1' }],
    ['kind of the wrong case', { ...ack, kind: 'ACK' }],
    ['kind not a string', { ...ack, kind: 1 }],
    ['a number', 7],
    ['a string', 'ack'],
    ['null', null],
    ['an array', [ack]],
    ['kind inherited from Object.prototype', { ...ack, kind: 'toString' }],
  ])('%s', (_name, bad) => {
    const result = expectDecoded(decode(rawFrame(bad)));
    expect(result.messages).toEqual([]);
    expect(result.rejected[0]!.error.code).toBe(ErrorCode.INVALID_MESSAGE);
  });

  it('is lenient with descriptive fields that route nothing', () => {
    const result = expectDecoded(
      decode(
        rawFrame(
          { ...nack, message: 42 },
          { ...nack, message: long(9000) },
          { ...hello, worker: { ...hello.worker, host: 5, pid: 'x', version: null } },
          { ...hello, worker: { ...hello.worker, host: long(300), version: long(70), pid: 1.5 } },
        ),
      ),
    );
    expect(result.rejected).toEqual([]);
    const [a, b, c, d] = result.messages as [
      Message & { message?: string },
      Message & { message?: string },
      HelloMessage,
      HelloMessage,
    ];
    expect(a.message).toBeUndefined();
    expect(b.message).toHaveLength(8192);
    expect(c.worker).toMatchObject({ host: '', pid: 0, version: '' });
    expect(d.worker.host).toHaveLength(256);
    expect(d.worker.version).toHaveLength(64);
    expect(d.worker.pid).toBe(0);
  });

  it('accepts a result with ok:false and no error code, and ignores value on errors', () => {
    const { error } = errorResult;
    const bad = { ...errorResult, error: { ...error, code: undefined }, value: 1 };
    const result = expectDecoded(decode(rawFrame(bad)));
    expect(result.messages).toStrictEqual([
      { ...errorResult, error: { name: 'Error', message: 'boom', retryable: false } },
    ]);
  });
});

describe('decode with a frame mixing valid and invalid messages', () => {
  it('returns the valid messages and rejects the rest with their routing context', () => {
    const result = expectDecoded(
      decode(
        rawFrame(
          ack,
          { ...task, attempt: 0 },
          42,
          cancel,
          { kind: 'nope', id: 'x' },
          { ...task, replyTo: 'bad:id', token: long(65), id: '' },
          leave,
        ),
      ),
    );
    expect(result.messages).toEqual([ack, cancel, leave]);
    expect(result.rejected).toHaveLength(4);
    for (const { error } of result.rejected) {
      expect(error).toBeInstanceOf(ProtocolError);
      expect(error.code).toBe(ErrorCode.INVALID_MESSAGE);
    }
    const [badTask, notObject, unknownKind, badIds] = result.rejected;
    expect(badTask!.context).toEqual({
      kind: 'task',
      id: 't-1',
      token: 'tok-1',
      replyTo: 'disp-1',
    });
    expect(badTask!.error.message).toMatch(/attempt/);
    expect(notObject!.context).toBeUndefined();
    expect(unknownKind!.context).toEqual({ kind: 'nope', id: 'x' });
    // Fields that would themselves be unsafe to route on are left out.
    expect(badIds!.context).toEqual({ kind: 'task' });
  });
});

describe('decode refuses prototype pollution', () => {
  let before: string[];
  beforeEach(() => {
    before = Object.getOwnPropertyNames(Object.prototype).sort();
  });
  afterEach(() => {
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(before);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.getPrototypeOf({})).toBe(Object.prototype);
  });

  const taskJson = (payload: string) => {
    const head = JSON.stringify({ ...task, payload: 0 });
    return `{"v":${PROTOCOL_VERSION},"m":[${head.replace('"payload":0', `"payload":${payload}`)}]}`;
  };

  it.each([
    ['__proto__ in a payload', taskJson('{"__proto__":{"polluted":true}}')],
    ['__proto__ deep in a payload', taskJson('{"a":[1,{"b":{"__proto__":{"polluted":1}}}]}')],
    [
      '__proto__ spelled with \\u escapes',
      taskJson('{"\\u005f\\u005fproto\\u005f\\u005f":{"polluted":true}}'),
    ],
    ['__proto__ with a single escape', taskJson('{"_\\u005fproto__":{"polluted":true}}')],
    [
      'constructor.prototype in a payload',
      taskJson('{"constructor":{"prototype":{"polluted":1}}}'),
    ],
    [
      'constructor.prototype nested',
      taskJson('{"x":{"y":[{"constructor":{"prototype":{"polluted":1}}}]}}'),
    ],
    [
      'constructor.prototype spelled with escapes',
      taskJson('{"constructor":{"\\u0070rototype":{"polluted":1}}}'),
    ],
    [
      '__proto__ at the top of a message',
      `{"v":${PROTOCOL_VERSION},"m":[${JSON.stringify(ack).replace('{', '{"__proto__":{"polluted":true},')}]}`,
    ],
    [
      '__proto__ in a result value',
      `{"v":${PROTOCOL_VERSION},"m":[${JSON.stringify({ ...okResult, value: 0 }).replace('"value":0', '"value":{"__proto__":{"polluted":1}}')}]}`,
    ],
    [
      '__proto__ in worker info',
      `{"v":${PROTOCOL_VERSION},"m":[${JSON.stringify(hello).replace('"id":', '"__proto__":{"polluted":1},"id":')}]}`,
    ],
  ])('%s', (_name, frame) => {
    JSON.parse(frame); // the test input itself is valid JSON
    const result = expectDecoded(decode(frame));
    expect(result.messages).toEqual([]);
    expect(result.rejected).toHaveLength(1);
    expect(result.rejected[0]!.error.code).toBe(ErrorCode.INVALID_MESSAGE);
    expect(result.rejected[0]!.error.message).toMatch(/__proto__|constructor\.prototype/);
  });

  it('ignores a __proto__ key on the frame itself', () => {
    const frame = `{"__proto__":{"v":3,"polluted":1},"v":${PROTOCOL_VERSION},"m":[${encodeMessage(ack)}]}`;
    const result = expectDecoded(decode(frame));
    expect(result.messages).toEqual([ack]);
  });

  it('allows harmless keys that merely look alike', () => {
    const frame = taskJson(
      '{"constructor":"x","prototype":{"a":1},"proto":1,"__proto":2,"\\u0041":3,"c":{"constructor":[1]}}',
    );
    const result = expectDecoded(decode(frame));
    expect(result.rejected).toEqual([]);
    expect(result.messages[0]).toMatchObject({
      payload: { constructor: 'x', prototype: { a: 1 }, proto: 1, __proto: 2, A: 3 },
    });
  });

  it('rejects a payload nested too deep to search', () => {
    const deep = `${'['.repeat(300)}"\\u0041"${']'.repeat(300)}`;
    const result = expectDecoded(decode(taskJson(deep)));
    expect(result.rejected[0]!.error.message).toMatch(/deeper/);
  });

  it('survives nesting deep enough to overflow a recursive parser', () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const result = decode(taskJson(deep));
    if (result.ok) expect(result.messages.length + result.rejected.length).toBe(1);
    else expect(result.error.code).toBe(ErrorCode.INVALID_MESSAGE);
  });
});

describe('id checks', () => {
  it('reject a bad replyTo or worker even right after a good one was seen', () => {
    const good = { kind: 'ack', id: 'a', token: 't', worker: 'w-1' };
    for (const worker of ['w-1', null, '', 'bad:id', undefined]) {
      const result = expectDecoded(decode(rawFrame(good, { ...good, worker })));
      const valid = worker === 'w-1';
      expect(result.messages).toHaveLength(valid ? 2 : 1);
      expect(result.rejected).toHaveLength(valid ? 0 : 1);
    }
  });
});

describe('worker info', () => {
  it('carries the frame limit the worker accepts; one from an older worker is the default', () => {
    expect(parseWorkerInfo(hello.worker).maxMessageBytes).toBe(65_536);
    const { maxMessageBytes: _, ...older } = hello.worker;
    expect(parseWorkerInfo(older).maxMessageBytes).toBe(DEFAULT_MAX_MESSAGE_BYTES);
    for (const bad of [0, 255, 4095, 1.5, '65536', 2 ** 31]) {
      expect(() => parseWorkerInfo({ ...hello.worker, maxMessageBytes: bad })).toThrow(
        /maxMessageBytes/,
      );
    }
  });
});

describe('worker heartbeat interval', () => {
  it('is kept when given and stays absent from an older worker that does not say it', () => {
    expect(parseWorkerInfo(hello.worker).heartbeatIntervalMs).toBe(1000);
    const { heartbeatIntervalMs: _, ...older } = hello.worker;
    const parsed = parseWorkerInfo(older);
    expect(parsed).not.toHaveProperty('heartbeatIntervalMs');
    expect(parsed.heartbeatTtlMs).toBe(3000);
  });

  it('rejects one that is not a whole number of milliseconds from 1 to a day', () => {
    for (const bad of [0, -5, 1.5, '1000', null, 86_400_001]) {
      expect(() => parseWorkerInfo({ ...hello.worker, heartbeatIntervalMs: bad })).toThrow(
        /heartbeatIntervalMs/,
      );
    }
  });
});

describe('compact forms', () => {
  const dispatcher: FrameSender = { replyTo: 'd-1' };
  const worker: FrameSender = { worker: 'w_1', incarnation: 'inc-1' };
  /** A frame written by hand with a header, for compact messages no encoder would make. */
  const rawCompact = (header: Record<string, unknown>, ...messages: unknown[]) =>
    JSON.stringify({ v: PROTOCOL_VERSION, ...header, m: messages });

  it('round-trips a task; replyTo comes from the frame, the token is id.attempt', () => {
    const cases: Array<[string | undefined, unknown]> = [
      ['{"w":[1,"x"]}', { w: [1, 'x'] }],
      ['null', null],
      ['0', 0],
      [undefined, undefined],
    ];
    for (const [payloadJson, payload] of cases) {
      const frame = encodeFrame(
        [encodeCompactTask('t-9', 3, 'mail.send', 1_700_000_000_123.5, payloadJson)],
        dispatcher,
      );
      const expected: TaskMessage = {
        kind: 'task',
        id: 't-9',
        attempt: 3,
        token: 't-9.3',
        handler: 'mail.send',
        deadline: 1_700_000_000_123.5,
        replyTo: 'd-1',
      };
      if (payloadJson !== undefined) expected.payload = payload;
      expect(expectDecoded(decode(frame)).messages).toStrictEqual([expected]);
    }
  });

  it('round-trips a re-sent task with the incarnation it names', () => {
    for (const [payloadJson, payload] of [
      ['{"w":1}', { w: 1 }],
      [undefined, undefined],
    ] as const) {
      const frame = encodeFrame(
        [encodeCompactResend('t-9', 2, 'mail.send', 1_700_000_000_123, 'inc"7', payloadJson)],
        dispatcher,
      );
      const expected: TaskMessage = {
        kind: 'task',
        id: 't-9',
        attempt: 2,
        token: 't-9.2',
        handler: 'mail.send',
        deadline: 1_700_000_000_123,
        replyTo: 'd-1',
        incarnation: 'inc"7',
      };
      if (payloadJson !== undefined) expected.payload = payload;
      expect(expectDecoded(decode(frame)).messages).toStrictEqual([expected]);
    }
    const resent = expectDecoded(decode(rawCompact({}, [2, 't', 2, 'echo', 5, 'inc'])));
    expect(resent.rejected[0]!.context).toEqual({ kind: 'task', id: 't', token: 't.2' });
  });

  it('round-trips acks and results; worker and incarnation come from the frame', () => {
    const error = { name: 'TypeError', message: 'bad', retryable: true, code: 'E_X' };
    const frame = encodeFrame(
      [
        encodeCompactAck('t"1', 'tok\\1'),
        encodeCompactOk('t2', 'tok2', '{"a":1}'),
        encodeCompactOk('t3', 'tok3', undefined),
        encodeCompactError('t4', 'tok4', error),
      ],
      worker,
    );
    const from = { worker: 'w_1', incarnation: 'inc-1' };
    expect(expectDecoded(decode(frame)).messages).toStrictEqual([
      { kind: 'ack', id: 't"1', token: 'tok\\1', ...from },
      { kind: 'result', id: 't2', token: 'tok2', ...from, ok: true, value: { a: 1 } },
      { kind: 'result', id: 't3', token: 'tok3', ...from, ok: true },
      { kind: 'result', id: 't4', token: 'tok4', ...from, ok: false, error },
    ]);
    const bare = encodeFrame([encodeCompactAck('t1', 'k1')], { worker: 'w_1' });
    expect(expectDecoded(decode(bare)).messages).toStrictEqual([
      { kind: 'ack', id: 't1', token: 'k1', worker: 'w_1' },
    ]);
  });

  it('encodes a result from its value exactly as from the value encoded apart', () => {
    const values: unknown[] = [
      1,
      'é"\\',
      null,
      true,
      [1, undefined, () => 1],
      { a: 1, b: undefined, c: { d: [null] } },
      new Date(0),
      { toJSON: () => undefined },
      { toJSON: () => ({ x: 1 }) },
      undefined,
      () => 1,
      Symbol('s'),
      Number.NaN,
    ];
    for (const value of values) {
      expect(encodeCompactOkValue('t"1', 'tok\\1', value)).toBe(
        encodeCompactOk('t"1', 'tok\\1', JSON.stringify(value)),
      );
    }
    expect(() => encodeCompactOkValue('t', 'k', 1n)).toThrow(TypeError);
    const cycle: Record<string, unknown> = {};
    cycle['self'] = cycle;
    expect(() => encodeCompactOkValue('t', 'k', cycle)).toThrow(TypeError);
  });

  it('decodes compact and object messages side by side, in order', () => {
    const busy: Message = { kind: 'nack', id: 'b', token: 'kb', worker: 'w_1', reason: 'BUSY' };
    const frame = encodeFrame([encodeCompactAck('a', 'ka'), encodeMessage(busy)], worker);
    const result = expectDecoded(decode(frame));
    expect(result.messages.map((m) => m.kind)).toEqual(['ack', 'nack']);
    expect(result.messages[1]).toStrictEqual(busy);
  });

  it('rejects an invalid compact message alone, keeping what a worker needs to nack it', () => {
    const cases: Array<[string, Record<string, unknown>, unknown]> = [
      ['no replyTo in the frame', {}, [1, 't', 1, 'echo', 5]],
      ['a replyTo that is no id', { r: 'bad:id' }, [1, 't', 1, 'echo', 5]],
      ['too few fields', { r: 'd-1' }, [1, 't', 1, 'echo']],
      ['too many fields', { r: 'd-1' }, [1, 't', 1, 'echo', 5, {}, 7]],
      ['a bad attempt', { r: 'd-1' }, [1, 't', 0, 'echo', 5]],
      ['a bad deadline', { r: 'd-1' }, [1, 't', 1, 'echo', 'soon']],
      ['an empty handler', { r: 'd-1' }, [1, 't', 1, '', 5]],
      ['an unknown kind code', { r: 'd-1' }, [6, 't', 't.1']],
      ['a re-send without its incarnation', { r: 'd-1' }, [2, 't', 1, 'echo', 5]],
      ['a re-send with an incarnation that is no text', { r: 'd-1' }, [2, 't', 1, 'echo', 5, 7]],
      ['a re-send with too many fields', { r: 'd-1' }, [2, 't', 1, 'echo', 5, 'i', {}, 8]],
      ['a kind code that is a string', { r: 'd-1' }, ['1', 't', 1, 'echo', 5]],
    ];
    for (const [why, header, item] of cases) {
      const result = expectDecoded(decode(rawCompact(header, [1, 'ok', 1, 'echo', 5], item)));
      // The valid neighbour survives unless the frame itself lacks what it needs.
      expect(result.messages, why).toHaveLength(header['r'] === 'd-1' ? 1 : 0);
      expect(result.rejected.length, why).toBeGreaterThanOrEqual(1);
      expect(result.rejected.at(-1)!.error.code, why).toBe(ErrorCode.INVALID_MESSAGE);
    }
    const noReplyTo = expectDecoded(decode(rawCompact({}, [1, 't', 2, 'echo', 5])));
    expect(noReplyTo.rejected[0]!.context).toEqual({ kind: 'task', id: 't', token: 't.2' });
    const badHandler = expectDecoded(decode(rawCompact({ r: 'd-1' }, [1, 't', 2, 7, 5])));
    expect(badHandler.rejected[0]!.context).toEqual({
      kind: 'task',
      id: 't',
      token: 't.2',
      replyTo: 'd-1',
    });
  });

  it('rejects replies whose frame does not name a valid worker, or whose fields are off', () => {
    const cases: Array<[string, Record<string, unknown>, unknown]> = [
      ['no worker', {}, [3, 't', 'k']],
      ['a worker that is no id', { w: 'w 1' }, [3, 't', 'k']],
      ['an incarnation that is no string', { w: 'w1', i: 5 }, [4, 't', 'k']],
      ['an ack with a value', { w: 'w1' }, [3, 't', 'k', 1]],
      ['an error result without error', { w: 'w1' }, [5, 't', 'k']],
      ['an error that is no error', { w: 'w1' }, [5, 't', 'k', { name: 'E' }]],
      ['a token too long', { w: 'w1' }, [4, 't', 'k'.repeat(65)]],
    ];
    for (const [why, header, item] of cases) {
      const result = expectDecoded(decode(rawCompact(header, item)));
      expect(result.messages, why).toEqual([]);
      expect(result.rejected, why).toHaveLength(1);
    }
  });

  it('finds forbidden keys in compact payloads and values', () => {
    const frames = [
      `{"v":${PROTOCOL_VERSION},"r":"d-1","m":[[1,"t",1,"echo",5,{"__proto__":{"polluted":1}}]]}`,
      `{"v":${PROTOCOL_VERSION},"w":"w1","m":[[4,"t","k",{"a":{"constructor":{"prototype":{}}}}]]}`,
    ];
    for (const frame of frames) {
      const result = expectDecoded(decode(frame));
      expect(result.messages).toEqual([]);
      expect(result.rejected).toHaveLength(1);
    }
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
  });

  it("carries the dispatcher's frame limit once per frame, to every task in it", () => {
    const sender: FrameSender = { replyTo: 'd-1', maxBytes: 65_536 };
    const frame = encodeFrame(
      [encodeCompactTask('t-1', 1, 'h', 1, '1'), encodeCompactTask('t-2', 1, 'h', 1, undefined)],
      sender,
    );
    expect(frame.startsWith('{"v":2,"r":"d-1","b":65536,"m":[')).toBe(true);
    const result = expectDecoded(decode(frame));
    expect(result.messages.map((m) => (m as TaskMessage).replyMaxBytes)).toEqual([65_536, 65_536]);
    // A dispatcher that predates the field sends none.
    const old = expectDecoded(
      decode(encodeFrame([encodeCompactTask('t', 1, 'h', 1, '1')], dispatcher)),
    );
    expect((old.messages[0] as TaskMessage).replyMaxBytes).toBeUndefined();
    // A limit out of range makes the task invalid, as a bad replyTo would.
    for (const b of [0, 255, 1.5, '4096', 2 ** 31]) {
      const bad = expectDecoded(decode(rawCompact({ r: 'd-1', b }, [1, 't', 1, 'h', 1])));
      expect(bad.messages).toEqual([]);
      expect(bad.rejected[0]?.context).toMatchObject({ kind: 'task', id: 't', replyTo: 'd-1' });
    }
  });

  it('frameOverhead counts the sender too, in bytes', () => {
    const parts = [encodeCompactAck('a', 'b'), encodeCompactOk('c', 'd', '"é"')];
    for (const sender of [
      undefined,
      dispatcher,
      worker,
      { worker: 'w', incarnation: 'ïñç😀' },
      { replyTo: 'd', maxBytes: 1_048_576 },
    ]) {
      const frame = encodeFrame(parts, sender);
      const sum = parts.reduce((n, p) => n + Buffer.byteLength(p), 0);
      expect(frameOverhead(parts.length, sender) + sum).toBe(Buffer.byteLength(frame));
    }
  });
});
