import { describe, expect, it } from 'vitest';
import { isClusterTarget } from './cluster-target.js';
import { ErrorCode, RingcastError } from './errors.js';
import { checkInteger, checkRedis, checkTimer, describeValue, MAX_TIMER_MS } from './options.js';

const fail = (message: string): never => {
  throw new RingcastError(ErrorCode.INVALID_OPTIONS, message);
};

function failure(check: () => unknown): RingcastError {
  try {
    check();
  } catch (error) {
    expect(error).toBeInstanceOf(RingcastError);
    expect((error as RingcastError).code).toBe(ErrorCode.INVALID_OPTIONS);
    return error as RingcastError;
  }
  throw new Error('expected the check to fail');
}

describe('checkInteger and checkTimer', () => {
  it('accept integers in range', () => {
    expect(checkInteger(fail, 'n', 0, 0, 10)).toBe(0);
    expect(checkInteger(fail, 'n', Number.MAX_SAFE_INTEGER, 1)).toBe(Number.MAX_SAFE_INTEGER);
    expect(checkTimer(fail, 't', MAX_TIMER_MS, 1)).toBe(MAX_TIMER_MS);
  });

  it('caps timers where Node would clamp them to 1 ms', () => {
    expect(MAX_TIMER_MS).toBe(2 ** 31 - 1);
    const error = failure(() => checkTimer(fail, 'reconcileIntervalMs', 2 ** 31, 10));
    expect(error.message).toBe(
      `reconcileIntervalMs must be an integer from 10 to ${MAX_TIMER_MS}, got ${2 ** 31}`,
    );
  });

  it.each([
    ['below the minimum', 0],
    ['a fraction', 1.5],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['a string', '5'],
    ['null', null],
  ])('refuse %s', (_what, value) => {
    failure(() => checkInteger(fail, 'n', value, 1, 10));
  });

  it('describe a bad value briefly', () => {
    expect(describeValue('x'.repeat(500))).toHaveLength(82);
    expect(describeValue(() => 1)).toBe('a function');
    expect(describeValue([1])).toBe('an array');
    expect(describeValue({})).toBe('an object');
  });
});

describe('checkRedis', () => {
  it.each([
    'redis://127.0.0.1:6379',
    'rediss://user:pw@db.example:6380/2',
    'redis://[::1]:6379',
    'redis://h?family=6',
  ])('accepts the URL %s', (url) => {
    expect(checkRedis(fail, url)).toBe(url);
  });

  it.each([
    ['a capitalised scheme (ioredis would skip TLS for Rediss://)', 'Redis://:secret@h:6379'],
    ['one slash', 'redis:/:secret@h:6379'],
    ['another scheme', 'tcp://:secret@h:6379'],
    ['no scheme', ':secret@h:6379'],
    ['a bad port', 'redis://:secret@h:99999'],
    ['an empty string', ''],
  ])('refuses %s, without quoting the password', (_what, url) => {
    const error = failure(() => checkRedis(fail, url));
    expect(error.message).toMatch(/redis URL/);
    expect(error.message).not.toContain('secret');
  });

  it('refuses a keyPrefix in options, a client or a URL', () => {
    const client = { duplicate() {}, publish() {}, options: { keyPrefix: 'app:' } };
    for (const value of [{ keyPrefix: 'app:' }, client, 'redis://h:6379?keyPrefix=app:']) {
      expect(failure(() => checkRedis(fail, value)).message).toMatch(/keyPrefix/);
    }
    expect(checkRedis(fail, { keyPrefix: '' })).toEqual({ keyPrefix: '' });
    const plain = { duplicate() {}, publish() {}, options: {} };
    expect(checkRedis(fail, plain)).toBe(plain);
  });

  it.each([[42], [null], [[]], [() => 1]])('refuses %s', (value) => {
    expect(failure(() => checkRedis(fail, value)).message).toMatch(/URL, ioredis options/);
  });
});

describe('checkRedis with a cluster', () => {
  it('takes startup nodes with ClusterOptions, and a Cluster client', () => {
    const options = {
      cluster: [{ host: '127.0.0.1', port: 7000 }],
      redisOptions: { password: 'p' },
    };
    expect(checkRedis(fail, options)).toBe(options);
    const client = { isCluster: true, duplicate() {}, publish() {}, options: {} };
    expect(checkRedis(fail, client)).toBe(client);
    expect(isClusterTarget(options)).toBe(true);
    expect(isClusterTarget(client)).toBe(true);
    expect(isClusterTarget({ host: 'h', port: 1 })).toBe(false);
    expect(isClusterTarget({ isCluster: false, duplicate() {}, publish() {} })).toBe(false);
    expect(isClusterTarget('redis://h:1')).toBe(false);
  });

  it.each([
    [{ cluster: [] }, /non-empty array/],
    [{ cluster: 'h:1' }, /non-empty array/],
    [{ cluster: [{ host: 'h' }] }, /port 1-65535/],
    [{ cluster: [{ host: '', port: 1 }] }, /port 1-65535/],
    [{ cluster: [{ host: 'h', port: 70_000 }] }, /port 1-65535/],
    [{ cluster: [{ host: 'h', port: 1 }], redisOptions: { keyPrefix: 'x:' } }, /keyPrefix/],
    [{ cluster: [{ host: 'h', port: 1 }], keyPrefix: 'x:' }, /keyPrefix/],
  ])('refuses %j', (value, pattern) => {
    expect(failure(() => checkRedis(fail, value)).message).toMatch(pattern);
  });
});
