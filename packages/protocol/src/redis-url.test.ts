import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { redisUrlOptions } from './redis-url.js';

/** What ioredis itself makes of a URL, for the options a URL can set. */
function ioredisReading(url: string, keys: readonly string[]): Record<string, unknown> {
  const client = new Redis(url, { lazyConnect: true });
  const options = client.options as unknown as Record<string, unknown>;
  client.disconnect();
  return Object.fromEntries(keys.map((key) => [key, options[key]]));
}

describe('redisUrlOptions', () => {
  it.each([
    ['redis://127.0.0.1:6379', { host: '127.0.0.1', port: 6379 }],
    ['redis://h', { host: 'h' }],
    [
      'rediss://user:p%40ss%3Aw@db.example:6380/2',
      { host: 'db.example', port: 6380, username: 'user', password: 'p@ss:w', db: 2, tls: {} },
    ],
    ['redis://:secret@h:1', { host: 'h', port: 1, username: '', password: 'secret' }],
    ['redis://[::1]:7000/0', { host: '::1', port: 7000, db: 0 }],
    ['redis://h:1?family=6&name=x', { host: 'h', port: 1, family: 6, name: 'x' }],
    ['redis://u:pw@h:1?password=other', { host: 'h', port: 1, username: 'u', password: 'pw' }],
  ])('%s', (url, expected) => {
    const options = redisUrlOptions(url);
    expect(options).toEqual(expected);
    // ioredis reads the URL the same way (it says `tls: true` where we say `{}`).
    const keys = Object.keys(expected).filter((key) => key !== 'tls');
    expect(ioredisReading(url, keys)).toEqual(
      Object.fromEntries(keys.map((key) => [key, options[key]])),
    );
  });

  it('ignores a __proto__ query parameter', () => {
    const options = redisUrlOptions('redis://h?__proto__=x');
    expect(Object.getPrototypeOf(options)).toBe(Object.prototype);
  });
});
