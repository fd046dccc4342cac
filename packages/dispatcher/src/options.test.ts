import {
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_NAMESPACE,
  describeValue,
  ErrorCode,
  isValidId,
  MAX_MESSAGE_BYTES,
  MAX_TIMER_MS,
  MIN_MESSAGE_BYTES,
  RingcastError,
} from '@ringcast/protocol';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createDispatcher } from './dispatcher.js';
import {
  DEFAULT_ACK_TIMEOUT_MS,
  DEFAULT_DRAIN_TIMEOUT_MS,
  DEFAULT_HASH_LOAD_EPSILON,
  DEFAULT_LEAVE_GRACE_MS,
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_MAX_QUEUED,
  DEFAULT_MAX_RETRY_BACKOFF_MS,
  DEFAULT_RECONCILE_INTERVAL_MS,
  DEFAULT_RETRY_BACKOFF_MS,
  DEFAULT_STATS_TTL_MS,
  DEFAULT_STRATEGY,
  DEFAULT_TIMEOUT_MS,
  type DispatcherOptions,
  type Logger,
  MIN_STATS_TTL_MS,
  parseOptions,
} from './options.js';
import { STRATEGY_NAMES } from './strategy.js';

/** parseOptions with deliberately ill-typed input. */
function parse(options: unknown) {
  return parseOptions(options as DispatcherOptions);
}

function thrown(fn: () => unknown): RingcastError {
  try {
    fn();
  } catch (error) {
    if (error instanceof RingcastError) return error;
    throw error;
  }
  throw new Error('expected a RingcastError');
}

function rejects(options: unknown, ...fragments: string[]): RingcastError {
  const error = thrown(() => parse(options));
  expect(error.code).toBe(ErrorCode.INVALID_OPTIONS);
  expect(error.message).toMatch(/^invalid dispatcher options: /);
  for (const fragment of fragments) expect(error.message).toContain(fragment);
  return error;
}

/** Name, minimum, default and maximum: timers stop where Node would clamp them to 1 ms. */
const NUMERIC = [
  ['timeoutMs', 1, DEFAULT_TIMEOUT_MS, MAX_TIMER_MS],
  ['ackTimeoutMs', 1, DEFAULT_ACK_TIMEOUT_MS, MAX_TIMER_MS],
  ['maxAttempts', 1, DEFAULT_MAX_ATTEMPTS, Number.MAX_SAFE_INTEGER],
  ['maxQueued', 0, DEFAULT_MAX_QUEUED, Number.MAX_SAFE_INTEGER],
  ['maxMessageBytes', MIN_MESSAGE_BYTES, DEFAULT_MAX_MESSAGE_BYTES, MAX_MESSAGE_BYTES],
  ['drainTimeoutMs', 0, DEFAULT_DRAIN_TIMEOUT_MS, MAX_TIMER_MS],
  ['reconcileIntervalMs', 10, DEFAULT_RECONCILE_INTERVAL_MS, MAX_TIMER_MS],
  ['leaveGraceMs', 0, DEFAULT_LEAVE_GRACE_MS, MAX_TIMER_MS],
  ['retryBackoffMs', 0, DEFAULT_RETRY_BACKOFF_MS, MAX_TIMER_MS],
  ['maxRetryBackoffMs', 0, DEFAULT_MAX_RETRY_BACKOFF_MS, MAX_TIMER_MS],
  ['statsTtlMs', MIN_STATS_TTL_MS, DEFAULT_STATS_TTL_MS, MAX_TIMER_MS],
] as const;

describe('parseOptions defaults', () => {
  it('fills in every default when given nothing', () => {
    for (const o of [parseOptions(), parseOptions({}), parse(undefined)]) {
      expect(o.redis).toBe('redis://127.0.0.1:6379');
      expect(o.namespace).toBe(DEFAULT_NAMESPACE);
      expect(o.logger).toBe(console);
      for (const [name, , value] of NUMERIC) expect(o[name]).toBe(value);
    }
    expect(DEFAULT_MAX_MESSAGE_BYTES).toBe(1024 * 1024);
  });

  it('generates a valid, random id per call', () => {
    const a = parseOptions().id;
    const b = parseOptions().id;
    expect(a).toMatch(/^d-[A-Za-z0-9_-]{12}$/);
    expect(isValidId(a)).toBe(true);
    expect(a).not.toBe(b);
  });

  it('treats an explicit undefined as "use the default"', () => {
    const o = parseOptions({ timeoutMs: undefined, namespace: undefined, logger: undefined });
    expect(o.timeoutMs).toBe(DEFAULT_TIMEOUT_MS);
    expect(o.namespace).toBe(DEFAULT_NAMESPACE);
    expect(o.logger).toBe(console);
  });

  it('keeps valid values as given', () => {
    const lines: string[] = [];
    const logger: Logger = {
      info: (m) => lines.push(`info ${m}`),
      warn: (m) => lines.push(`warn ${m}`),
      error: (m) => lines.push(`error ${m}`),
    };
    const o = parseOptions({
      redis: 'rediss://user:pw@example.com:6380/2',
      namespace: 'app:prod.v2',
      id: 'dispatcher-1.a_b',
      timeoutMs: 1,
      maxQueued: 0,
      maxMessageBytes: 4096,
      reconcileIntervalMs: 10,
      logger,
    });
    expect(o.redis).toBe('rediss://user:pw@example.com:6380/2');
    expect(o.namespace).toBe('app:prod.v2');
    expect(o.id).toBe('dispatcher-1.a_b');
    expect(o.timeoutMs).toBe(1);
    expect(o.maxQueued).toBe(0);
    expect(o.maxMessageBytes).toBe(4096);
    expect(o.reconcileIntervalMs).toBe(10);
    // Wrapped once so that a logger that throws cannot break what it logs, and otherwise the same.
    o.logger.info('i');
    o.logger.warn('w');
    o.logger.error('e');
    expect(lines).toEqual(['info i', 'warn w', 'error e']);
  });
});

describe('parseOptions numeric options', () => {
  describe.each(NUMERIC)('%s (min %i)', (name, min, _default, max) => {
    it('accepts the minimum and the maximum', () => {
      expect(parse({ [name]: min })[name]).toBe(min);
      expect(parse({ [name]: min + 12_345 })[name]).toBe(min + 12_345);
      expect(parse({ [name]: max })[name]).toBe(max);
    });

    it('rejects one past the maximum', () => {
      rejects({ [name]: max + 1 }, name, `from ${min} to ${max}`);
    });

    it.each([
      ['below the minimum', min - 1],
      ['negative', -5],
      ['a fraction', min + 0.5],
      ['NaN', Number.NaN],
      ['Infinity', Number.POSITIVE_INFINITY],
      ['beyond MAX_SAFE_INTEGER', 2 ** 53],
      ['a numeric string', String(min + 1)],
      ['null', null],
      ['a boolean', true],
    ])('rejects %s, naming the option', (_what, value) => {
      rejects({ [name]: value }, name, `from ${min} to`, `got ${describeValue(value)}`);
    });
  });
});

describe('parseOptions option pairs', () => {
  it('rejects a retryBackoffMs above the maxRetryBackoffMs given with it, naming both', () => {
    rejects(
      { retryBackoffMs: 1000, maxRetryBackoffMs: 10 },
      'retryBackoffMs (1000) must be at most maxRetryBackoffMs (10)',
    );
    const equal = parse({ retryBackoffMs: 250, maxRetryBackoffMs: 250 });
    expect([equal.retryBackoffMs, equal.maxRetryBackoffMs]).toEqual([250, 250]);
    // One given alone keeps its meaning: the longest delay caps the first.
    expect(parse({ maxRetryBackoffMs: 0 }).retryBackoffMs).toBe(DEFAULT_RETRY_BACKOFF_MS);
    expect(parse({ retryBackoffMs: 60_000 }).maxRetryBackoffMs).toBe(DEFAULT_MAX_RETRY_BACKOFF_MS);
  });
});

describe('parseOptions other options', () => {
  it.each([null, 42, 'redis://x', true])('rejects a non-object options argument %j', (value) => {
    rejects(value, 'options must be an object');
  });

  it.each(['timeout', 'logLevel', 'maxattempts', '__proto__x', 'constructor'])(
    'rejects the unknown option %s, naming it',
    (key) => {
      rejects({ [key]: 1 }, `unknown option "${key}"`);
    },
  );

  it('rejects an unknown option even next to valid ones', () => {
    rejects({ timeoutMs: 100, bogus: true }, 'unknown option "bogus"');
  });

  it.each(['redis://localhost', 'redis://127.0.0.1:6379/3', 'rediss://h:1'])(
    'accepts the redis URL %s',
    (url) => {
      expect(parse({ redis: url }).redis).toBe(url);
    },
  );

  it('accepts ioredis options or a client object as is', () => {
    const opts = { host: 'h', port: 1 };
    expect(parse({ redis: opts }).redis).toBe(opts);
  });

  it.each(['http://localhost:6379', 'localhost:6379', '', ' redis://h', 'redis:/h', 'Redis://h'])(
    'rejects the redis URL %j',
    (url) => {
      rejects(
        { redis: url },
        'redis URL must start with redis:// or rediss://',
        JSON.stringify(url),
      );
    },
  );

  it.each(['Redis://:secret@h:6379', 'redis:/:secret@h:6379', 'tcp://user:secret@h:6379'])(
    'rejects the redis URL %j without quoting its password',
    (url) => {
      const error = rejects({ redis: url }, 'redis URL must start with redis:// or rediss://');
      expect(error.message).not.toContain('secret');
      expect(error.message).toContain('***@h:6379');
    },
  );

  it('createDispatcher refuses an application client with a keyPrefix at once', () => {
    // ioredis prefixes keys but not channels: the registry would be read under the
    // wrong name while nothing else failed, and every task would end NO_WORKERS.
    const client = new Redis({ lazyConnect: true, keyPrefix: 'app:' });
    try {
      const error = thrown(() => createDispatcher({ redis: client }));
      expect(error.code).toBe(ErrorCode.INVALID_OPTIONS);
      expect(error.message).toMatch(/keyPrefix/);
    } finally {
      client.disconnect();
    }
  });

  it('rejects an ioredis client or options with a keyPrefix', () => {
    const client = { duplicate() {}, publish() {}, options: { keyPrefix: 'app:' } };
    rejects({ redis: client }, 'keyPrefix');
    rejects({ redis: { host: 'h', keyPrefix: 'app:' } }, 'keyPrefix');
  });

  it.each([42, null, true])('rejects redis = %j', (value) => {
    rejects({ redis: value }, 'redis must be a URL, ioredis options or an ioredis client');
  });

  it.each(['', 'a b', 'a/b', 'x'.repeat(65), 'ns*', 42, null])('rejects namespace %j', (ns) => {
    rejects({ namespace: ns }, 'namespace must be 1 to 64 characters');
  });

  it.each(['ns', 'a:b.c-d_e', 'x'.repeat(64)])('accepts namespace %j', (ns) => {
    expect(parse({ namespace: ns }).namespace).toBe(ns);
  });

  it.each(['', 'a b', 'a:b', 'a/b', 'x'.repeat(129), 42, null])('rejects id %j', (id) => {
    rejects({ id }, 'id', 'must match [A-Za-z0-9_.-]{1,128}');
  });

  it.each(['a', 'A-z_0.9', 'x'.repeat(128)])('accepts id %j', (id) => {
    expect(parse({ id }).id).toBe(id);
  });

  it('logger: false gives a silent logger', () => {
    const { logger } = parseOptions({ logger: false });
    expect(logger).not.toBe(console);
    expect(typeof logger.info).toBe('function');
    expect(typeof logger.warn).toBe('function');
    expect(typeof logger.error).toBe('function');
    expect(() => {
      logger.info('x');
      logger.warn('x');
      logger.error('x');
    }).not.toThrow();
  });

  it.each([
    ['true', true],
    ['null', null],
    ['a function', () => {}],
    ['a string', 'console'],
    ['an empty object', {}],
    ['an object missing error', { info() {}, warn() {} }],
    ['an object with a non-function warn', { info() {}, warn: 'no', error() {} }],
  ])('rejects logger = %s', (_what, logger) => {
    rejects({ logger }, 'logger must be false or an object with info, warn and error functions');
  });
});

describe('parseOptions strategy', () => {
  it('defaults to the weighted ring and an ε of 0.25', () => {
    const o = parseOptions();
    expect(o.strategy).toBe(DEFAULT_STRATEGY);
    expect(o.strategy).toBe('weighted-round-robin');
    expect(o.hashLoadEpsilon).toBe(DEFAULT_HASH_LOAD_EPSILON);
    expect(DEFAULT_HASH_LOAD_EPSILON).toBe(0.25);
  });

  it.each(STRATEGY_NAMES)('accepts %s, and createDispatcher makes a dispatcher with it', (name) => {
    expect(parseOptions({ strategy: name }).strategy).toBe(name);
    const d = createDispatcher({ strategy: name, logger: false });
    expect(d.stats().workers).toBe(0);
  });

  it('knows exactly the seven strategies of the issue', () => {
    expect([...STRATEGY_NAMES].sort()).toEqual(
      [
        'consistent-hash',
        'latency',
        'least-inflight',
        'power-of-two',
        'random',
        'round-robin',
        'weighted-round-robin',
      ].sort(),
    );
  });

  it.each([
    ['an unknown name', 'fastest', '"fastest"'],
    ['a misspelt name', 'least-connections', '"least-connections"'],
    ['a name in the wrong case', 'Random', '"Random"'],
    ['a number', 3, 'strategy 3 is'],
    ['an object', { name: 'random' }, 'an object'],
    ['null', null, 'null'],
  ])('refuses %s with a typed INVALID_OPTIONS that lists the names', (_what, value, shown) => {
    const error = rejects({ strategy: value }, 'strategy', shown, "'consistent-hash'");
    expect(error).toBeInstanceOf(RingcastError);
    // At createDispatcher, before anything connects.
    const fromFactory = thrown(() => createDispatcher({ strategy: value as never, logger: false }));
    expect(fromFactory.code).toBe(ErrorCode.INVALID_OPTIONS);
    expect(fromFactory.message).toContain('is not one of');
  });

  it('takes hashLoadEpsilon as a number above 0 up to 100, or false for no bound', () => {
    expect(parseOptions({ hashLoadEpsilon: 0.01 }).hashLoadEpsilon).toBe(0.01);
    expect(parseOptions({ hashLoadEpsilon: 100 }).hashLoadEpsilon).toBe(100);
    expect(parseOptions({ hashLoadEpsilon: false }).hashLoadEpsilon).toBe(Number.POSITIVE_INFINITY);
  });

  it.each([0, -0.5, 100.5, Number.NaN, Number.POSITIVE_INFINITY, '0.25', true, null])(
    'refuses hashLoadEpsilon %j',
    (value) => {
      rejects({ hashLoadEpsilon: value }, 'hashLoadEpsilon must be a number above 0');
    },
  );
});
