import { describe, expect, it } from 'vitest';
import { ErrorCode, isRingcastError, ProtocolError, RingcastError } from './errors.js';

describe('RingcastError', () => {
  it('carries code, message, cause and remote, with its name set', () => {
    const cause = new Error('socket closed');
    const remote = { name: 'TypeError', message: 'boom', retryable: true, code: 'E_BOOM' };
    const error = new RingcastError(ErrorCode.HANDLER_ERROR, 'handler failed', { cause, remote });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('RingcastError');
    expect(error.code).toBe('HANDLER_ERROR');
    expect(error.message).toBe('handler failed');
    expect(error.cause).toBe(cause);
    expect(error.remote).toEqual(remote);
    expect(String(error)).toBe('RingcastError: handler failed');
  });

  it('leaves remote and cause unset when not given', () => {
    const error = new RingcastError(ErrorCode.TIMEOUT, 'too slow');
    expect(error.remote).toBeUndefined();
    expect(error.cause).toBeUndefined();
  });

  it('ProtocolError is a RingcastError with its own name', () => {
    const error = new ProtocolError(ErrorCode.INVALID_MESSAGE, 'bad');
    expect(error).toBeInstanceOf(RingcastError);
    expect(error).toBeInstanceOf(ProtocolError);
    expect(error.name).toBe('ProtocolError');
    expect(error.code).toBe('INVALID_MESSAGE');
  });

  it('isRingcastError tells ringcast errors from others', () => {
    expect(isRingcastError(new RingcastError(ErrorCode.CLOSED, 'closed'))).toBe(true);
    expect(isRingcastError(new ProtocolError(ErrorCode.INVALID_MESSAGE, 'bad'))).toBe(true);
    expect(isRingcastError(new Error('x'))).toBe(false);
    expect(isRingcastError({ code: 'CLOSED', name: 'RingcastError' })).toBe(false);
    expect(isRingcastError(undefined)).toBe(false);
  });

  it('every error code is its own string value', () => {
    for (const [key, value] of Object.entries(ErrorCode)) expect(value).toBe(key);
  });
});
