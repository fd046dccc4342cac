import { describe, expect, it } from 'vitest';
import { DEFAULT_NAMESPACE } from './channels.js';
import { connectionOptions, DEFAULT_REDIS_URL, stringOption } from './cli.js';

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
