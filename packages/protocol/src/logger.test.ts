import { describe, expect, it } from 'vitest';
import {
  adaptLogger,
  isStructuredLogger,
  type Logger,
  parseLogger,
  silentLogger,
  withFields,
  withPrefix,
} from './logger.js';
import { RateLimitedLog } from './rate-limited-log.js';

const invalid = (why: string): never => {
  throw new Error(why);
};

/** A message-only logger that keeps every call's arguments. */
function messageOnly() {
  const calls: unknown[][] = [];
  const logger: Logger = {
    info: (...args: unknown[]) => calls.push(['info', ...args]),
    warn: (...args: unknown[]) => calls.push(['warn', ...args]),
    error: (...args: unknown[]) => calls.push(['error', ...args]),
  };
  return { calls, logger };
}

/** pino's shape: `child()` and `bindings()`, and `(object, message)` calls. */
function pinoShaped() {
  const calls: unknown[][] = [];
  const logger = {
    level: 'info',
    child: () => logger,
    bindings: () => ({}),
    info(this: unknown, ...args: unknown[]) {
      // pino's methods read their logger from `this`.
      expect(this).toBe(logger);
      calls.push(['info', ...args]);
    },
    warn: (...args: unknown[]) => calls.push(['warn', ...args]),
    error: (...args: unknown[]) => calls.push(['error', ...args]),
  };
  return { calls, logger };
}

describe('parseLogger', () => {
  it('takes the fallback for undefined and silence for false', () => {
    const fallback: Logger = { info() {}, warn() {}, error() {} };
    expect(parseLogger(undefined, fallback, invalid)).toBe(fallback);
    expect(parseLogger(false, fallback, invalid)).toBe(silentLogger);
  });

  it('refuses what lacks a method', () => {
    for (const bad of [null, 1, 'console', {}, { info() {}, warn() {} }]) {
      expect(() => parseLogger(bad, silentLogger, invalid)).toThrow(/info, warn and error/);
    }
  });

  it('passes lines through and swallows what a logger throws', () => {
    const lines: string[] = [];
    const logger = parseLogger(
      {
        info: (m: string) => lines.push(`info ${m}`),
        warn: () => {
          throw new Error('disk full');
        },
        error: (m: string) => lines.push(`error ${m}`),
      },
      silentLogger,
      invalid,
    );
    logger.info('a');
    expect(() => logger.warn('b')).not.toThrow();
    logger.error('c');
    expect(lines).toEqual(['info a', 'error c']);
  });

  it('calls a message-only logger with the message alone, fields or not', () => {
    const { calls, logger } = messageOnly();
    const log = adaptLogger(logger);
    log.info('joined', { worker: 'w1' });
    log.warn('plain');
    expect(calls).toEqual([
      ['info', 'joined'],
      ['warn', 'plain'],
    ]);
  });

  it('calls a pino-shaped logger with (fields, message), an empty object when there are none', () => {
    const { calls, logger } = pinoShaped();
    const log = parseLogger(logger, silentLogger, invalid) as ReturnType<typeof adaptLogger>;
    log.info('worker w1 joined', { worker: 'w1', weight: 3 });
    log.error('boom');
    expect(calls).toEqual([
      ['info', { worker: 'w1', weight: 3 }, 'worker w1 joined'],
      ['error', {}, 'boom'],
    ]);
  });

  it('redacts credentials in messages and in fields', () => {
    const structured = pinoShaped();
    const plain = messageOnly();
    for (const logger of [structured.logger, plain.logger]) {
      adaptLogger(logger).warn('cannot reach redis://:hunter2@db:6379', {
        redis: 'redis://user:hunter2@db:6379/0',
        attempt: 2,
      });
    }
    const all = JSON.stringify([structured.calls, plain.calls]);
    expect(all).not.toContain('hunter2');
    expect(structured.calls[0]).toEqual([
      'warn',
      { redis: 'redis://***@db:6379/0', attempt: 2 },
      'cannot reach redis://***@db:6379',
    ]);
  });

  it('adapts once: an adapted logger stays as it is', () => {
    const once = adaptLogger(messageOnly().logger);
    expect(adaptLogger(once)).toBe(once);
    expect(parseLogger(once, silentLogger, invalid)).toBe(once);
  });
});

describe('isStructuredLogger', () => {
  it.each([
    ['pino (child, bindings)', { child() {}, bindings() {}, level: 'info' }, true],
    ['bunyan (child, level())', { child() {}, level() {} }, true],
    ['console', console, false],
    ['winston-like (child, level string)', { child() {}, level: 'info' }, false],
    ['a plain object', { info() {} }, false],
  ])('%s → %s', (_name, logger, expected) => {
    expect(isStructuredLogger(logger)).toBe(expected);
  });
});

describe('withFields', () => {
  it("adds its fields to every line; the call site's own win", () => {
    const { calls, logger } = pinoShaped();
    const log = withFields(logger, { worker: 'w1', role: 'worker' });
    log.info('a');
    log.warn('b', { role: 'thread', task: 't1' });
    expect(calls).toEqual([
      ['info', { worker: 'w1', role: 'worker' }, 'a'],
      ['warn', { worker: 'w1', role: 'thread', task: 't1' }, 'b'],
    ]);
  });

  it('reaches a rate-limited log with its fields and the count it held back', () => {
    const { calls, logger } = pinoShaped();
    const log = withFields(logger, { worker: 'w1' });
    let now = 0;
    const limited = new RateLimitedLog(
      (line, fields) => log.warn(line, fields),
      1_000,
      () => now,
    );
    limited.log('invalid', 'bad 1', { code: 'INVALID_MESSAGE' });
    limited.log('invalid', 'bad 2', { code: 'INVALID_MESSAGE' });
    now = 1_000;
    limited.log('invalid', 'bad 3', { code: 'INVALID_MESSAGE' });
    expect(calls).toEqual([
      ['warn', { worker: 'w1', code: 'INVALID_MESSAGE' }, 'bad 1'],
      [
        'warn',
        { worker: 'w1', code: 'INVALID_MESSAGE', suppressed: 1 },
        'bad 3 (1 similar suppressed since)',
      ],
    ]);
  });
});

describe('withPrefix', () => {
  it('starts every message with its prefix, fields untouched, and is not adapted again', () => {
    const { calls, logger } = pinoShaped();
    const log = withPrefix(withFields(logger, { worker: 'w1' }), 'worker w1: ');
    log.info('started');
    log.error('close failed', { code: 'CLOSED' });
    adaptLogger(log).warn('slow');
    expect(calls).toEqual([
      ['info', { worker: 'w1' }, 'worker w1: started'],
      ['error', { worker: 'w1', code: 'CLOSED' }, 'worker w1: close failed'],
      ['warn', { worker: 'w1' }, 'worker w1: slow'],
    ]);
  });
});
