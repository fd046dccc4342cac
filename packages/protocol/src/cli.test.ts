import { describe, expect, it } from 'vitest';
import { DEFAULT_NAMESPACE } from './channels.js';
import {
  connectionOptions,
  DEFAULT_REDIS_URL,
  parseClusterNodes,
  stringOption,
  UsageError,
} from './cli.js';

describe('connectionOptions', () => {
  it.each([
    [{}, {}, DEFAULT_REDIS_URL, DEFAULT_NAMESPACE],
    [{}, { REDIS_URL: 'redis://env:1', RINGCAST_NAMESPACE: 'envns' }, 'redis://env:1', 'envns'],
    [{}, { REDIS_URL: '', RINGCAST_NAMESPACE: '' }, DEFAULT_REDIS_URL, DEFAULT_NAMESPACE],
    [
      { redis: 'redis://flag:2', namespace: 'flagns' },
      { REDIS_URL: 'redis://env:1', RINGCAST_NAMESPACE: 'envns' },
      'redis://flag:2',
      'flagns',
    ],
  ])('flags %j over env %j', (values, env, redis, namespace) => {
    expect(connectionOptions(values, env)).toEqual({ redis, namespace });
  });

  it('reads string options only', () => {
    expect(stringOption({ a: 'x', b: true }, 'a')).toBe('x');
    expect(stringOption({ a: 'x', b: true }, 'b')).toBeUndefined();
    expect(stringOption({}, 'c')).toBeUndefined();
  });
});

describe('--cluster', () => {
  it('gives the startup nodes, with the namespace as ever; REDIS_URL in the environment does not get in the way', () => {
    const env = { REDIS_URL: 'redis://env:1', RINGCAST_NAMESPACE: 'envns' };
    expect(connectionOptions({ cluster: '10.0.0.1:7000,redis-b:7001' }, env)).toEqual({
      redis: '',
      namespace: 'envns',
      cluster: [
        { host: '10.0.0.1', port: 7000 },
        { host: 'redis-b', port: 7001 },
      ],
    });
    expect(parseClusterNodes(' h:1 ')).toEqual([{ host: 'h', port: 1 }]);
  });

  it.each([
    ['', /host:port/],
    ['h:1,', /host:port/],
    ['h', /host:port/],
    [':7000', /host:port/],
    ['h:0', /1-65535/],
    ['h:65536', /1-65535/],
    ['h:70a', /1-65535/],
  ])('refuses %j with a usage error', (spec, pattern) => {
    expect(() => parseClusterNodes(spec)).toThrow(UsageError);
    expect(() => parseClusterNodes(spec)).toThrow(pattern);
  });

  it('is mutually exclusive with --redis, and takes no TLS flags', () => {
    expect(() => connectionOptions({ cluster: 'h:1', redis: 'redis://x:2' }, {})).toThrow(
      /mutually exclusive/,
    );
    expect(() => connectionOptions({ cluster: 'h:1', 'tls-ca': 'ca.pem' }, {})).toThrow(/--tls-\*/);
  });
});
