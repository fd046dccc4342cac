import { ErrorCode } from '@ringcast/protocol';
import { describe, expect, it } from 'vitest';
import { type CallOptions, encodePayload, MAX_KEY_LENGTH, readCallOptions } from './admission.js';
import { DispatchError } from './errors.js';

function read(options: unknown): CallOptions {
  const out: CallOptions = {
    timeoutMs: -1,
    retries: -1,
    signal: undefined,
    aborted: true,
    key: 'stale',
    priority: 7,
    runAt: 7,
  };
  readCallOptions(options, 30_000, 1_000_000, out);
  return out;
}

function thrown(fn: () => unknown): DispatchError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(DispatchError);
    return error as DispatchError;
  }
  throw new Error('expected a DispatchError');
}

const fakeSignal = {
  aborted: false,
  addEventListener() {},
  removeEventListener() {},
};

describe('readCallOptions', () => {
  it('fills in defaults', () => {
    const defaults = {
      timeoutMs: 30_000,
      retries: 0,
      signal: undefined,
      aborted: false,
      key: undefined,
      priority: 0,
      runAt: 0,
    };
    expect(read(undefined)).toEqual(defaults);
    expect(read({})).toEqual(defaults);
    expect(read({ timeoutMs: undefined, retries: undefined, signal: undefined }).timeoutMs).toBe(
      30_000,
    );
  });

  it('takes valid values', () => {
    const controller = new AbortController();
    expect(read({ timeoutMs: 1.5, retries: 1e9, signal: controller.signal })).toEqual({
      timeoutMs: 1.5,
      retries: 1e9,
      signal: controller.signal,
      aborted: false,
      key: undefined,
      priority: 0,
      runAt: 0,
    });
    // The clock reads 1,000,000 in read().
    expect(read({ priority: -1000 }).priority).toBe(-1000);
    expect(read({ priority: 1000 }).priority).toBe(1000);
    expect(read({ delayMs: 250 }).runAt).toBe(1_000_250);
    expect(read({ delayMs: 0 }).runAt).toBe(0);
    expect(read({ runAt: 1_500_000 }).runAt).toBe(1_500_000);
    // A time already past means now.
    expect(read({ runAt: 5 }).runAt).toBe(0);
    expect(read({ key: 'user-42' }).key).toBe('user-42');
    expect(read({ key: 'k'.repeat(MAX_KEY_LENGTH) }).key).toHaveLength(MAX_KEY_LENGTH);
    expect(read({ signal: AbortSignal.abort() }).aborted).toBe(true);
    // Something shaped like a signal (another realm, a polyfill) is accepted.
    expect(read({ signal: fakeSignal }).signal).toBe(fakeSignal);
  });

  it.each([
    ['null', null, /options must be an object, got null/],
    ['a number', 5, /options must be an object, got 5/],
    ['a string', 'fast', /options must be an object/],
    ['an empty array', [], /options must be an object, got an array/],
    ['an array', [{ timeoutMs: 5 }], /options must be an object, got an array/],
    ['an unknown key', { timeout: 5000 }, /unknown option "timeout"/],
    [
      'a string timeout',
      { timeoutMs: '5000' },
      /timeoutMs must be a positive number up to 2147483647, got "5000"/,
    ],
    ['a zero timeout', { timeoutMs: 0 }, /timeoutMs/],
    ['an infinite timeout', { timeoutMs: Number.POSITIVE_INFINITY }, /timeoutMs/],
    [
      'a timeout past the timer cap',
      { timeoutMs: 2 ** 31 },
      /timeoutMs must be a positive number up to 2147483647/,
    ],
    ['NaN retries', { retries: Number.NaN }, /retries must be a non-negative integer/],
    ['negative retries', { retries: -1 }, /retries/],
    ['fractional retries', { retries: 1.5 }, /retries/],
    ['an AbortController', { signal: new AbortController() }, /signal must be an AbortSignal/],
    [
      'an empty object as signal',
      { signal: {} },
      /signal must be an AbortSignal .*, got an object/,
    ],
    ['a string signal', { signal: 'abort' }, /signal must be an AbortSignal/],
    ['a half signal', { signal: { aborted: false, addEventListener() {} } }, /signal/],
    ['a numeric key', { key: 42 }, /key must be a string of 1 to 512 characters, got 42/],
    ['an object key', { key: { id: 1 } }, /key must be a string .*, got an object/],
    ['an empty key', { key: '' }, /key must be a string of 1 to 512 characters, got 0 characters/],
    ['a key past the bound', { key: 'k'.repeat(513) }, /got 513 characters/],
    [
      'a fractional priority',
      { priority: 1.5 },
      /priority must be an integer from -1000 to 1000, got 1.5/,
    ],
    [
      'a priority past the bound',
      { priority: 1001 },
      /priority must be an integer from -1000 to 1000/,
    ],
    ['a string priority', { priority: 'high' }, /priority must be an integer .*, got "high"/],
    ['a negative delay', { delayMs: -1 }, /delayMs must be a number from 0 to 2147483647, got -1/],
    ['a NaN delay', { delayMs: Number.NaN }, /delayMs must be a number/],
    [
      'a delay past the timer cap',
      { delayMs: 2 ** 31 },
      /delayMs must be a number from 0 to 2147483647/,
    ],
    ['a string runAt', { runAt: '2026-12-01' }, /runAt must be a time in epoch ms/],
    [
      'a runAt too far ahead',
      { runAt: 1_000_000 + 2 ** 31 },
      /runAt must be a time in epoch ms at most 2147483647 ms ahead/,
    ],
    ['both delayMs and runAt', { delayMs: 5, runAt: 1_000_005 }, /give delayMs or runAt, not both/],
  ])('refuses %s with INVALID_OPTIONS', (_what, options, message) => {
    const error = thrown(() => read(options));
    expect(error.code).toBe(ErrorCode.INVALID_OPTIONS);
    expect(error.message).toMatch(message);
  });

  it('turns a throwing getter, a throwing signal and a hostile proxy into INVALID_OPTIONS with the cause', () => {
    const boom = new Error('getter exploded');
    const revocable = Proxy.revocable({}, {});
    revocable.revoke();
    const cases: Array<[unknown, unknown]> = [
      [
        {
          get timeoutMs() {
            throw boom;
          },
        },
        boom,
      ],
      [
        {
          signal: {
            get aborted() {
              throw boom;
            },
            addEventListener() {},
            removeEventListener() {},
          },
        },
        boom,
      ],
      [
        new Proxy(
          {},
          {
            ownKeys() {
              throw boom;
            },
          },
        ),
        boom,
      ],
      [revocable.proxy, undefined],
      // Has AbortSignal's prototype but is none: reading `aborted` throws.
      [{ signal: Object.create(AbortSignal.prototype) }, undefined],
    ];
    for (const [options, cause] of cases) {
      const error = thrown(() => read(options));
      expect(error.code).toBe(ErrorCode.INVALID_OPTIONS);
      expect(error.message).toMatch(/reading them threw/);
      if (cause) expect(error.cause).toBe(cause);
      else expect(error.cause).toBeDefined();
    }
  });
});

describe('encodePayload', () => {
  it('encodes JSON values, and undefined as no payload', () => {
    expect(encodePayload(undefined)).toBeUndefined();
    expect(encodePayload(null)).toBe('null');
    expect(encodePayload(0)).toBe('0');
    expect(encodePayload('x')).toBe('"x"');
    expect(encodePayload({ a: [1, { b: 2 }] })).toBe('{"a":[1,{"b":2}]}');
    expect(encodePayload(Object.create(null))).toBe('{}');
    expect(encodePayload(new Date(0))).toBe('"1970-01-01T00:00:00.000Z"');
    class Point {
      constructor(
        readonly x: number,
        readonly y: number,
      ) {}
    }
    expect(encodePayload(new Point(1, 2))).toBe('{"x":1,"y":2}');
    // A Map that says how to encode itself is fine.
    const map = Object.assign(new Map([[1, 2]]), { toJSON: () => [[1, 2]] });
    expect(encodePayload(map)).toBe('[[1,2]]');
    // Nested values follow JSON's rules: only the top level is checked.
    expect(encodePayload({ f: () => 1, m: new Map() })).toBe('{"m":{}}');
  });

  it.each([
    ['a function', () => 1, /a function has no JSON form/],
    ['a symbol', Symbol('s'), /a symbol has no JSON form/],
    ['a toJSON that gives undefined', { toJSON: () => undefined }, /an object has no JSON form/],
    ['a Map', new Map([[1, 2]]), /of type Map would arrive as \{\}/],
    ['a Set', new Set([1]), /of type Set/],
    ['a WeakMap', new WeakMap(), /of type WeakMap/],
    ['a Promise', Promise.resolve(1), /of type Promise/],
    ['an Error', new TypeError('x'), /of type TypeError/],
    ['a BigInt', 10n, /not JSON-serialisable/],
    ['NaN', Number.NaN, /would arrive as null/],
    ['Infinity', Number.POSITIVE_INFINITY, /would arrive as null/],
    [
      'a cycle',
      (() => {
        const o: Record<string, unknown> = {};
        o['self'] = o;
        return o;
      })(),
      /not JSON-serialisable/,
    ],
    [
      'a revoked proxy',
      (() => {
        const r = Proxy.revocable({}, {});
        r.revoke();
        return r.proxy;
      })(),
      /not JSON-serialisable/,
    ],
  ])('refuses %s with INVALID_MESSAGE', (_what, payload, message) => {
    const error = thrown(() => encodePayload(payload));
    expect(error.code).toBe(ErrorCode.INVALID_MESSAGE);
    expect(error.message).toMatch(message);
  });
});
