import { describe, expect, it } from 'vitest';
import { type Logger, parseLogger, silentLogger } from './logger.js';

const invalid = (why: string): never => {
  throw new Error(why);
};

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
});
