import { ErrorCode, ID_PATTERN } from '@ringcast/protocol';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { WorkerError } from './errors.js';
import {
  DEFAULT_CONCURRENCY,
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  DEFAULT_HEARTBEAT_TTL_MS,
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_NAMESPACE,
  defaultWorkerId,
  parseOptions,
  type WorkerOptions,
} from './options.js';

const handlers = { echo: (payload: unknown) => payload };

function rejects(options: unknown, pattern: RegExp): WorkerError {
  let caught: unknown;
  try {
    parseOptions(options as WorkerOptions);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(WorkerError);
  expect((caught as WorkerError).code).toBe(ErrorCode.INVALID_OPTIONS);
  expect((caught as WorkerError).message).toMatch(pattern);
  return caught as WorkerError;
}

describe('parseOptions', () => {
  it('fills in defaults, weight and maxQueue following concurrency', () => {
    const o = parseOptions({ handlers });
    expect(o.namespace).toBe(DEFAULT_NAMESPACE);
    expect(o.concurrency).toBe(DEFAULT_CONCURRENCY);
    expect(o.weight).toBe(DEFAULT_CONCURRENCY);
    expect(o.maxQueue).toBe(DEFAULT_CONCURRENCY);
    expect(o.heartbeatIntervalMs).toBe(DEFAULT_HEARTBEAT_INTERVAL_MS);
    expect(o.heartbeatTtlMs).toBe(DEFAULT_HEARTBEAT_TTL_MS);
    expect(o.maxMessageBytes).toBe(DEFAULT_MAX_MESSAGE_BYTES);
    expect(o.id).toMatch(ID_PATTERN);
    expect([...o.handlers.keys()]).toEqual(['echo']);

    const custom = parseOptions({ handlers, concurrency: 4 });
    expect(custom.weight).toBe(4);
    expect(custom.maxQueue).toBe(4);
    expect(parseOptions({ handlers, concurrency: 4, weight: 1, maxQueue: 0 })).toMatchObject({
      weight: 1,
      maxQueue: 0,
    });
  });

  it('keeps handlers in a Map, so inherited names such as toString are not handlers', () => {
    const o = parseOptions({ handlers });
    expect(o.handlers.get('toString')).toBeUndefined();
    expect(o.handlers.get('__proto__')).toBeUndefined();
  });

  it('makes readable, unique default ids within the id alphabet', () => {
    const a = defaultWorkerId();
    const b = defaultWorkerId();
    expect(a).toMatch(ID_PATTERN);
    expect(a).toContain(`-${process.pid}-`);
    expect(a).not.toBe(b);
  });

  it('accepts a silent logger and a custom one', () => {
    expect(() => parseOptions({ handlers, logger: false })).not.toThrow();
    const lines: string[] = [];
    const logger = {
      info: (m: string) => lines.push(`info ${m}`),
      warn: () => {
        throw new Error('a logger that throws');
      },
      error: (m: string) => lines.push(`error ${m}`),
    };
    const parsed = parseOptions({ id: 'w1', handlers, logger }).logger;
    parsed.info('i');
    expect(() => parsed.warn('w')).not.toThrow();
    parsed.error('e');
    // Every line names the worker.
    expect(lines).toEqual(['info worker w1: i', 'error worker w1: e']);
  });

  it.each<[string, unknown, RegExp]>([
    ['not an object', null, /expected an options object/],
    ['unknown option', { handlers, concurency: 2 }, /unknown option "concurency"/],
    ['redis of the wrong type', { handlers, redis: 42 }, /redis must be/],
    ['empty redis URL', { handlers, redis: '' }, /redis URL must start with redis:\/\//],
    ['a tcp:// URL', { handlers, redis: 'tcp://h:6379' }, /redis URL must start with redis:\/\//],
    ['a Redis:// URL', { handlers, redis: 'Redis://h:6379' }, /redis URL must start/],
    ['a keyPrefix', { handlers, redis: { keyPrefix: 'app:' } }, /must not set keyPrefix/],
    [
      'a timer Node would clamp',
      { handlers, drainTimeoutMs: 2 ** 31 },
      /drainTimeoutMs must be an integer from 0 to 2147483647/,
    ],
    ['namespace with a space', { handlers, namespace: 'a b' }, /namespace must match/],
    ['empty namespace', { handlers, namespace: '' }, /namespace must match/],
    ['id with a colon', { handlers, id: 'a:b' }, /id must match/],
    ['id too long', { handlers, id: 'x'.repeat(129) }, /id must match/],
    ['no handlers', {}, /handlers must be an object/],
    ['handlers as an array', { handlers: [(): number => 1] }, /handlers must be an object/],
    ['empty handlers', { handlers: {} }, /at least one handler/],
    ['handler not a function', { handlers: { echo: 'echo' } }, /"echo" is not a function/],
    ['handler name too long', { handlers: { ['h'.repeat(129)]: (): number => 1 } }, /1 to 128/],
    ['concurrency 0', { handlers, concurrency: 0 }, /concurrency must be an integer from 1/],
    ['concurrency fractional', { handlers, concurrency: 1.5 }, /concurrency must be an integer/],
    ['concurrency as a string', { handlers, concurrency: '4' }, /concurrency must be an integer/],
    ['concurrency NaN', { handlers, concurrency: Number.NaN }, /concurrency must be an integer/],
    ['weight 0', { handlers, weight: 0 }, /weight must be an integer from 1/],
    ['negative maxQueue', { handlers, maxQueue: -1 }, /maxQueue must be an integer from 0/],
    [
      'heartbeat interval too small',
      { handlers, heartbeatIntervalMs: 1 },
      /heartbeatIntervalMs must be an integer/,
    ],
    [
      'ttl not above the interval',
      { handlers, heartbeatIntervalMs: 1000, heartbeatTtlMs: 1000 },
      /heartbeatTtlMs \(1000\) must exceed heartbeatIntervalMs \(1000\)/,
    ],
    ['negative drain timeout', { handlers, drainTimeoutMs: -5 }, /drainTimeoutMs must be/],
    ['infinite drain timeout', { handlers, drainTimeoutMs: Infinity }, /drainTimeoutMs must be/],
    ['tiny maxMessageBytes', { handlers, maxMessageBytes: 100 }, /maxMessageBytes must be/],
    ['zero parkTtlMs', { handlers, parkTtlMs: 0 }, /parkTtlMs must be/],
    ['zero maxParked', { handlers, maxParked: 0 }, /maxParked must be/],
    ['logger true', { handlers, logger: true }, /logger must be false or an object/],
    ['logger missing warn', { handlers, logger: { info() {}, error() {} } }, /logger must be/],
  ])('rejects %s', (_what, options, pattern) => {
    rejects(options, pattern);
  });

  it('refuses an application client with a keyPrefix', () => {
    const client = new Redis({ lazyConnect: true, keyPrefix: 'app:' });
    try {
      rejects({ handlers, redis: client }, /must not set keyPrefix/);
    } finally {
      client.disconnect();
    }
  });

  it('quotes a malformed URL without its password', () => {
    for (const redis of ['Redis://:secret@h:6379', 'redis:/:secret@h', 'tcp://u:secret@h']) {
      const error = rejects({ handlers, redis }, /redis URL/);
      expect(error.message).not.toContain('secret');
    }
  });

  it('rejects more than 1024 handlers', () => {
    const many = Object.fromEntries(Array.from({ length: 1025 }, (_, i) => [`h${i}`, () => i]));
    rejects({ handlers: many }, /at most 1024 handlers/);
  });
});
