import { DEFAULT_MAX_MESSAGE_BYTES, decode, encodeFrame } from '@ringcast/protocol';
import { describe, expect, it } from 'vitest';
import { ReplyEncoder, safeString, serializeError } from './serialize.js';

const reply = { id: 't1', token: 'tok1', worker: 'w1', incarnation: 'inc1' };
const encoder = (maxBytes = DEFAULT_MAX_MESSAGE_BYTES) =>
  new ReplyEncoder(reply.worker, reply.incarnation, maxBytes);

/** Decodes an encoded reply the way a dispatcher would, in a frame from its worker, proving it valid on the wire. */
function wire(encoded: string, maxBytes = DEFAULT_MAX_MESSAGE_BYTES) {
  const decoded = decode(encodeFrame([encoded], encoder(maxBytes).sender), { maxBytes });
  if (!decoded.ok) throw decoded.error;
  expect(decoded.rejected).toEqual([]);
  return decoded.messages[0];
}

describe('serializeError', () => {
  it('keeps name, message, retryable === true and a short string code', () => {
    const error = Object.assign(new TypeError('bad input'), { retryable: true, code: 'E_BAD' });
    expect(serializeError(error)).toEqual({
      name: 'TypeError',
      message: 'bad input',
      retryable: true,
      code: 'E_BAD',
    });
  });

  it('treats truthy non-true retryable as false and drops unusable codes', () => {
    expect(serializeError(Object.assign(new Error('x'), { retryable: 'yes', code: 42 }))).toEqual({
      name: 'Error',
      message: 'x',
      retryable: false,
    });
    expect(
      serializeError(Object.assign(new Error('x'), { code: 'C'.repeat(65) })),
    ).not.toHaveProperty('code');
    expect(serializeError(Object.assign(new Error('x'), { code: '' }))).not.toHaveProperty('code');
  });

  it('truncates long names and messages to what the protocol accepts', () => {
    const error = new Error('m'.repeat(20_000));
    error.name = 'N'.repeat(500);
    const remote = serializeError(error);
    expect(remote.name).toHaveLength(128);
    expect(remote.message).toHaveLength(8192);
    expect(wire(encoder().error(reply.id, reply.token, remote))).toMatchObject({
      ok: false,
      error: remote,
    });
  });

  it('falls back to "Error" for an empty or non-string name', () => {
    const error = new Error('x');
    error.name = '';
    expect(serializeError(error).name).toBe('Error');
    Object.defineProperty(error, 'name', { value: 7 });
    expect(serializeError(error).name).toBe('Error');
  });

  it('survives errors whose properties throw', () => {
    const error = new Error('x');
    Object.defineProperty(error, 'message', {
      get() {
        throw new Error('boom');
      },
    });
    Object.defineProperty(error, 'retryable', {
      get() {
        throw new Error('boom');
      },
    });
    expect(serializeError(error)).toEqual({
      name: 'Error',
      message: '[unprintable value]',
      retryable: false,
    });
    const bare = new Error('x');
    Object.defineProperty(bare, 'message', { value: undefined });
    expect(serializeError(bare).message).toBe('');
  });

  it('reports non-Error throws as NonError with a safe string form', () => {
    expect(serializeError('plain')).toEqual({
      name: 'NonError',
      message: 'plain',
      retryable: false,
    });
    expect(serializeError(42)).toMatchObject({ name: 'NonError', message: '42' });
    expect(serializeError(undefined)).toMatchObject({ name: 'NonError', message: 'undefined' });
    expect(serializeError({ retryable: true })).toMatchObject({
      name: 'NonError',
      message: '[object Object]',
      retryable: false,
    });
    const hostile = {
      toString() {
        throw new Error('no');
      },
    };
    expect(serializeError(hostile)).toMatchObject({ name: 'NonError', message: '[object Object]' });
    expect(serializeError(Object.create(null))).toMatchObject({ message: '[object Object]' });
    expect(serializeError(Symbol('s'))).toMatchObject({ message: 'Symbol(s)' });
  });
});

describe('safeString', () => {
  it('never throws', () => {
    const proxy = new Proxy(
      {},
      {
        get() {
          throw new Error('trap');
        },
      },
    );
    expect(typeof safeString(proxy)).toBe('string');
  });
});

describe('ReplyEncoder', () => {
  it('encodes a value, and omits an undefined one', () => {
    const { encoded, ok } = encoder().ok(reply.id, reply.token, { a: [1, 'b'] });
    expect(ok).toBe(true);
    expect(wire(encoded)).toStrictEqual({
      kind: 'result',
      ...reply,
      ok: true,
      value: { a: [1, 'b'] },
    });
    const empty = encoder().ok(reply.id, reply.token, undefined);
    expect(wire(empty.encoded)).toStrictEqual({ kind: 'result', ...reply, ok: true });
  });

  it('refuses a function or a symbol as the result, which JSON would turn into nothing', () => {
    for (const value of [() => 1, Symbol('s')]) {
      const refused = encoder().ok(reply.id, reply.token, value);
      expect(refused.ok).toBe(false);
      expect(wire(refused.encoded)).toMatchObject({
        ok: false,
        error: { name: 'TypeError', retryable: false },
      });
    }
  });

  it('refuses a result JSON would change at its top level (NaN, ±Infinity, a Map or Set), as the dispatcher refuses such a payload', () => {
    const cases: Array<[unknown, RegExp]> = [
      [Number.NaN, /NaN would arrive as null/],
      [Number.NEGATIVE_INFINITY, /-Infinity would arrive as null/],
      [new Map([[1, 2]]), /of type Map would arrive as \{\}/],
      [new Set([1]), /of type Set would arrive as \{\}/],
    ];
    for (const [value, why] of cases) {
      const refused = encoder().ok(reply.id, reply.token, value);
      expect(refused.ok).toBe(false);
      const sent = wire(refused.encoded) as { error: { name: string; message: string } };
      expect(sent.error.name).toBe('TypeError');
      expect(sent.error.message).toMatch(why);
    }
    // Nested values follow JSON's rules, as a payload's do.
    expect(encoder().ok(reply.id, reply.token, { n: Number.NaN }).ok).toBe(true);
  });

  it('escapes ids and tokens, so any string the protocol accepts stays valid JSON', () => {
    const id = 'a"b\\c\u2028';
    const { encoded } = encoder().ok(id, '"}', 1);
    expect(wire(encoded)).toMatchObject({ id, token: '"}', value: 1 });
    expect(wire(encoder().ack(id, '"}'))).toStrictEqual({
      kind: 'ack',
      id,
      token: '"}',
      worker: 'w1',
      incarnation: 'inc1',
    });
  });

  it('encodes acks with the incarnation and nacks without it', () => {
    const e = encoder();
    expect(wire(e.ack('t1', 'tok1'))).toStrictEqual({ kind: 'ack', ...reply });
    expect(wire(e.nack('t1', 'tok1', 'BUSY', 'full'))).toStrictEqual({
      kind: 'nack',
      id: 't1',
      token: 'tok1',
      worker: 'w1',
      reason: 'BUSY',
      message: 'full',
    });
  });

  it('turns a value JSON cannot encode into a TypeError result', () => {
    const cycle: Record<string, unknown> = {};
    cycle['self'] = cycle;
    for (const value of [
      10n,
      cycle,
      {
        toJSON: () => {
          throw new Error('nope');
        },
      },
    ]) {
      const { encoded, ok } = encoder().ok(reply.id, reply.token, value);
      expect(ok).toBe(false);
      expect(wire(encoded)).toMatchObject({
        ok: false,
        error: { name: 'TypeError', retryable: false },
      });
    }
  });

  it.each([
    ['a __proto__ key', '{"a":1,"__proto__":{"polluted":true}}'],
    ['a nested __proto__ key', '[{"x":{"__proto__":{}}}]'],
    ['a constructor.prototype', '{"constructor":{"prototype":{"polluted":true}}}'],
  ])(
    'turns a value with %s, which the dispatcher would drop, into an InvalidResult result',
    (_what, json) => {
      const { encoded, ok } = encoder().ok(reply.id, reply.token, JSON.parse(json));
      expect(ok).toBe(false);
      expect(wire(encoded)).toMatchObject({
        ok: false,
        error: {
          name: 'InvalidResult',
          message: expect.stringMatching(
            /would be dropped by the dispatcher.*(__proto__|constructor\.prototype)/,
          ),
          retryable: false,
        },
      });
    },
  );

  it('keeps values that only look like forbidden keys', () => {
    for (const value of [
      { prototype: { a: 1 }, constructor: 'x', proto: 1 },
      ['__proto__', 'constructor.prototype'],
      { text: '\u0000 and prototype' },
    ]) {
      const { encoded, ok } = encoder().ok(reply.id, reply.token, value);
      expect(ok).toBe(true);
      expect(wire(encoded)).toMatchObject({ ok: true, value });
    }
  });

  it('turns a value too large for a frame into a RangeError result that fits', () => {
    const maxBytes = 4096;
    const { encoded, ok } = encoder(maxBytes).ok(reply.id, reply.token, 'é'.repeat(3000));
    expect(ok).toBe(false);
    const message = wire(encoded, maxBytes);
    expect(message).toMatchObject({ ok: false, error: { name: 'RangeError', retryable: false } });
    expect(JSON.stringify(message)).toMatch(/over the limit/);
  });

  it("holds a reply to the limit its dispatcher gave, not the worker's own", () => {
    const value = 'v'.repeat(6000);
    // The worker accepts 1 MiB; the dispatcher said it accepts 4096 bytes.
    const tooLarge = encoder().ok(reply.id, reply.token, value, 4096);
    expect(tooLarge.ok).toBe(false);
    expect(wire(tooLarge.encoded, 4096)).toMatchObject({
      ok: false,
      error: { name: 'RangeError' },
    });
    // A dispatcher that accepts more than the worker does gets it whole.
    const small = encoder(4096);
    const fits = small.ok(reply.id, reply.token, value, DEFAULT_MAX_MESSAGE_BYTES);
    expect(fits.ok).toBe(true);
    expect(wire(fits.encoded)).toMatchObject({ ok: true, value });
    const remote = serializeError(new Error('x'.repeat(8192)));
    const shortened = encoder().error(reply.id, reply.token, remote, 4096);
    expect(Buffer.byteLength(encodeFrame([shortened], small.sender))).toBeLessThanOrEqual(4096);
  });

  it('shortens an error message that would not fit a small frame', () => {
    const remote = serializeError(new Error('x'.repeat(8192)));
    const encoded = encoder(4096).error(reply.id, reply.token, remote);
    expect(Buffer.byteLength(encodeFrame([encoded], encoder(4096).sender))).toBeLessThanOrEqual(
      4096,
    );
    expect(wire(encoded, 4096)).toMatchObject({ ok: false, error: { name: 'Error' } });
  });
});
