import { describe, expect, it } from 'vitest';
import { describeRedis, errorMessage, redactText, redactUrl } from './redact.js';

describe('redactUrl', () => {
  it.each([
    ['redis://user:secret@db.example:6380/2', 'redis://***@db.example:6380/2'],
    ['rediss://:secret@h', 'rediss://***@h'],
    ['Redis://:secret@h:6379', 'Redis://***@h:6379'],
    ['redis:/:secret@h', 'redis:/***@h'],
    ['tcp://u:secret@h', 'tcp://***@h'],
    ['//:secret@h:6379', '//***@h:6379'],
    [':secret@h', '***@h'],
    ['redis://:p@ss@word@h', 'redis://***@h'],
    ['redis://h:6379/0', 'redis://h:6379/0'],
    ['Redis://127.0.0.1:1/?password=secret', 'Redis://127.0.0.1:1/?password=***'],
    ['redis://h/0?db=1&password=secret&family=6', 'redis://h/0?db=1&password=***&family=6'],
    ['redis://:a@h?username=u&PASSWORD=secret', 'redis://***@h?username=***&PASSWORD=***'],
  ])('%s gives %s', (url, redacted) => {
    expect(redactUrl(url)).toBe(redacted);
  });
});

describe('redactText', () => {
  it('masks the credentials of a URL anywhere in a message', () => {
    expect(redactText('connect ENOENT //:secret@127.0.0.1:6379')).toBe(
      'connect ENOENT //***@127.0.0.1:6379',
    );
    expect(redactText('bad "redis://u:secret@h" and rediss://:secret@k:1 too')).toBe(
      'bad "redis://***@h" and rediss://***@k:1 too',
    );
    expect(redactText('got "Redis://h:1/?password=secret"')).toBe(
      'got "Redis://h:1/?password=***"',
    );
  });

  it('leaves messages without credentials alone', () => {
    for (const text of [
      'connect ECONNREFUSED 127.0.0.1:6379',
      'WRONGPASS invalid username-password pair or user is disabled.',
      'mail ops@example.com',
    ]) {
      expect(redactText(text)).toBe(text);
    }
  });
});

describe('errorMessage', () => {
  it('reads any thrown value, redacted, and never throws', () => {
    expect(errorMessage(new Error('connect ENOENT //:secret@h'))).toBe('connect ENOENT //***@h');
    expect(errorMessage('redis://:secret@h')).toBe('redis://***@h');
    expect(errorMessage(42)).toBe('42');
    const hostile = {
      toString() {
        throw new Error('no');
      },
    };
    expect(errorMessage(hostile)).toBe('an unprintable error');
  });
});

describe('describeRedis of a cluster', () => {
  it('names the startup nodes, never a password', () => {
    const options = {
      cluster: [
        { host: 'a', port: 7000 },
        { host: 'b', port: 7001 },
      ],
      redisOptions: { password: 'secret' },
    };
    expect(describeRedis(options)).toBe('cluster a:7000,b:7001');
    const client = {
      isCluster: true,
      startupNodes: [{ host: 'c', port: 7002 }],
      duplicate() {},
      options: { redisOptions: { password: 'secret' } },
    };
    expect(describeRedis(client)).toBe('cluster c:7002');
  });
});

describe('describeRedis', () => {
  it('gives host:port without credentials', () => {
    expect(describeRedis('redis://user:secret@db.example:6380/2')).toBe('db.example:6380');
    expect(describeRedis('redis://localhost')).toBe('localhost:6379');
    expect(describeRedis({ host: 'h', port: 7000, password: 'secret' })).toBe('h:7000');
    expect(describeRedis({ path: '/run/redis.sock' })).toBe('/run/redis.sock');
    const client = { duplicate() {}, options: { host: 'c', port: 1, password: 'secret' } };
    expect(describeRedis(client)).toBe('c:1');
    expect(describeRedis('::not a url')).not.toContain('::not');
  });
});
