import { ErrorCode } from '@ringcast/dispatcher';
import { describe, expect, it } from 'vitest';
import { STATUS_BY_CODE, TRANSIENT_CODES } from './http-status.js';

describe('HTTP status by ringcast error code', () => {
  it('has a status for every code', () => {
    for (const code of Object.values(ErrorCode)) {
      expect(STATUS_BY_CODE[code], code).toBeGreaterThanOrEqual(400);
    }
  });

  it.each([
    [ErrorCode.NO_WORKERS, 503],
    [ErrorCode.QUEUE_FULL, 503],
    [ErrorCode.WORKER_LOST, 503],
    [ErrorCode.TIMEOUT, 504],
    [ErrorCode.HANDLER_ERROR, 502],
    [ErrorCode.PAYLOAD_TOO_LARGE, 413],
    [ErrorCode.INVALID_OPTIONS, 500],
  ])('answers %s with %i', (code, status) => {
    expect(STATUS_BY_CODE[code]).toBe(status);
  });

  it('calls exactly the 503s and 504s transient', () => {
    const transient = Object.values(ErrorCode).filter((code) => TRANSIENT_CODES.has(code));
    expect(transient).toContain(ErrorCode.NO_WORKERS);
    expect(transient).toContain(ErrorCode.TIMEOUT);
    expect(transient).not.toContain(ErrorCode.HANDLER_ERROR);
    for (const code of transient) expect([503, 504]).toContain(STATUS_BY_CODE[code]);
  });
});
