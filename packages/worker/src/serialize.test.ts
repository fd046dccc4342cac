import { DEFAULT_MAX_MESSAGE_BYTES, decode, encodeFrame } from '@ringcast/protocol';
import { describe, expect, it } from 'vitest';
import { encodeErrorResult, encodeOkResult, safeString, serializeError } from './serialize.js';

const reply = { id: 't1', token: 'tok1', worker: 'w1' };

/** Decodes an encoded message the way a dispatcher would, proving it is valid on the wire. */
function wire(encoded: string, maxBytes = DEFAULT_MAX_MESSAGE_BYTES) {
  const decoded = decode(encodeFrame([encoded]), { maxBytes });
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
    expect(wire(encodeErrorResult(reply, remote, DEFAULT_MAX_MESSAGE_BYTES))).toMatchObject({
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
      message: 'undefined',
      retryable: false,
    });
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

describe('encodeOkResult', () => {
  it('encodes a value, and omits an undefined one', () => {
    const { encoded, ok } = encodeOkResult(reply, { a: [1, 'b'] }, DEFAULT_MAX_MESSAGE_BYTES);
    expect(ok).toBe(true);
    expect(wire(encoded)).toEqual({ kind: 'result', ...reply, ok: true, value: { a: [1, 'b'] } });
    const empty = encodeOkResult(reply, undefined, DEFAULT_MAX_MESSAGE_BYTES);
    expect(wire(empty.encoded)).toEqual({ kind: 'result', ...reply, ok: true });
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
      const { encoded, ok } = encodeOkResult(reply, value, DEFAULT_MAX_MESSAGE_BYTES);
      expect(ok).toBe(false);
      expect(wire(encoded)).toMatchObject({
        ok: false,
        error: { name: 'TypeError', retryable: false },
      });
    }
  });

  it('turns a value too large for a frame into a RangeError result that fits', () => {
    const maxBytes = 4096;
    const { encoded, ok } = encodeOkResult(reply, 'é'.repeat(3000), maxBytes);
    expect(ok).toBe(false);
    const message = wire(encoded, maxBytes);
    expect(message).toMatchObject({ ok: false, error: { name: 'RangeError', retryable: false } });
    expect(JSON.stringify(message)).toMatch(/over the limit/);
  });

  it('shortens an error message that would not fit a small frame', () => {
    const remote = serializeError(new Error('x'.repeat(8192)));
    const encoded = encodeErrorResult(reply, remote, 4096);
    expect(Buffer.byteLength(encodeFrame([encoded]))).toBeLessThanOrEqual(4096);
    expect(wire(encoded, 4096)).toMatchObject({ ok: false, error: { name: 'Error' } });
  });
});
