import { createCliLogger, isLogFormat } from '@ringcast/protocol';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseOptions } from './options.js';

/** A destination that keeps what pino writes. */
function sink() {
  const chunks: string[] = [];
  return {
    destination: { write: (chunk: string) => chunks.push(chunk) },
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((line) => line !== ''),
  };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('createCliLogger', () => {
  it('json: one object per line with level, ISO time, msg, name and the fields, redacted', () => {
    const out = sink();
    const log = createCliLogger('json', 'ringcast-test', out.destination);
    log.info('worker w1 started', { worker: 'w1', weight: 3 });
    log.warn('cannot reach redis://:hunter2@db:6379', {
      redis: 'redis://app:hunter2@db:6379/0',
    });
    log.error('plain');
    const lines = out.lines().map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatchObject({
      level: 'info',
      name: 'ringcast-test',
      msg: 'worker w1 started',
      worker: 'w1',
      weight: 3,
    });
    expect(new Date(lines[0]!['time'] as string).toISOString()).toBe(lines[0]!['time']);
    expect(lines[1]).toMatchObject({
      level: 'warn',
      msg: 'cannot reach redis://***@db:6379',
      redis: 'redis://***@db:6379/0',
    });
    expect(lines[2]).toMatchObject({ level: 'error', msg: 'plain' });
    expect(out.lines().join('\n')).not.toContain('hunter2');
  });

  it('text: the console, `[name] message`, fields left out', () => {
    const info = vi.spyOn(console, 'info').mockImplementation(() => undefined);
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const log = createCliLogger('text', 'ringcast-test');
    log.info('hello', { worker: 'w1' });
    log.warn('careful');
    expect(info.mock.calls).toEqual([['[ringcast-test] hello']]);
    expect(warn.mock.calls).toEqual([['[ringcast-test] careful']]);
  });

  it('knows its formats', () => {
    expect(['text', 'json', 'yaml', undefined].map(isLogFormat)).toEqual([
      true,
      true,
      false,
      false,
    ]);
  });
});

describe('a pino logger as the worker option', () => {
  it('is called (fields, message), every line naming the worker', () => {
    const out = sink();
    const logger = pino({ base: undefined }, out.destination);
    const { logger: log } = parseOptions({ id: 'w7', handlers: { echo: (p) => p }, logger });
    log.warn('dropped an invalid message', { code: 'INVALID_MESSAGE' });
    expect(out.lines().map((line) => JSON.parse(line))).toEqual([
      expect.objectContaining({
        level: 40,
        worker: 'w7',
        code: 'INVALID_MESSAGE',
        msg: 'worker w7: dropped an invalid message',
      }),
    ]);
  });
});
