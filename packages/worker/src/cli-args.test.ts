import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadHandlers, parseCliArgs, redisTarget, USAGE, UsageError } from './cli-args.js';

describe('redisTarget', () => {
  it('is the URL itself without TLS files', () => {
    expect(redisTarget('redis://h:1', undefined)).toBe('redis://h:1');
  });

  it("is the URL's options with the files' contents as tls", () => {
    const dir = mkdtempSync(join(tmpdir(), 'ringcast-cli-tls-'));
    writeFileSync(join(dir, 'ca.pem'), 'CA');
    expect(redisTarget('rediss://:pw@h:6380', { ca: join(dir, 'ca.pem') })).toEqual({
      host: 'h',
      port: 6380,
      username: '',
      password: 'pw',
      tls: { ca: Buffer.from('CA') },
    });
  });

  it('checks the URL as the worker would, before reading anything', () => {
    expect(() => redisTarget('rediss://h:1?keyPrefix=x', { ca: '/nonexistent' })).toThrow(
      /keyPrefix/,
    );
    expect(() => redisTarget('rediss://h:1', { ca: '/nonexistent' })).toThrow(UsageError);
  });
});

describe('parseCliArgs', () => {
  it('maps every flag to a library option', () => {
    const command = parseCliArgs(
      [
        '--handlers',
        './h.js',
        '--redis',
        'redis://r:1',
        '--namespace',
        'ns',
        '--id',
        'w1',
        '--concurrency',
        '4',
        '--weight',
        '2',
        '--max-queue',
        '0',
        '--heartbeat-interval',
        '100',
        '--heartbeat-ttl',
        '300',
        '--drain-timeout',
        '50',
        '--log-format',
        'json',
      ],
      {},
    );
    expect(command).toEqual({
      help: false,
      config: {
        handlers: './h.js',
        redis: 'redis://r:1',
        namespace: 'ns',
        id: 'w1',
        concurrency: 4,
        weight: 2,
        maxQueue: 0,
        heartbeatIntervalMs: 100,
        heartbeatTtlMs: 300,
        drainTimeoutMs: 50,
        logFormat: 'json',
      },
    });
  });

  it('takes --cluster instead of --redis: the startup nodes, never both', () => {
    const command = parseCliArgs(['--handlers', './h.js', '--cluster', 'h1:7000,h2:7001'], {});
    expect(command).toMatchObject({
      help: false,
      config: {
        cluster: [
          { host: 'h1', port: 7000 },
          { host: 'h2', port: 7001 },
        ],
      },
    });
    expect(() =>
      parseCliArgs(['--handlers', './h.js', '--cluster', 'h:1', '--redis', 'redis://r:1'], {}),
    ).toThrow(/mutually exclusive/);
    expect(() => parseCliArgs(['--handlers', './h.js', '--cluster', 'h:x'], {})).toThrow(
      /host:port/,
    );
    expect(USAGE).toContain('--cluster <host:port,...>');
  });

  it('reads frame keys from --auth-keys-file, else RINGCAST_AUTH_KEYS; none means no auth', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ringcast-cli-keys-'));
    const keys = { keys: { k1: 'a-secret-of-at-least-32-characters-here' }, current: 'k1' };
    const file = join(dir, 'keys.json');
    writeFileSync(file, JSON.stringify(keys));
    expect(parseCliArgs(['--handlers', 'h.js', '--auth-keys-file', file], {})).toMatchObject({
      config: { auth: keys, authKeysFile: file },
    });
    const env = { RINGCAST_AUTH_KEYS: JSON.stringify(keys) };
    const fromEnv = parseCliArgs(['--handlers', 'h.js'], env);
    expect(fromEnv).toMatchObject({ config: { auth: keys } });
    expect(fromEnv.help === false && fromEnv.config.authKeysFile).toBeUndefined();
    expect(parseCliArgs(['--handlers', 'h.js'], {})).not.toHaveProperty('config.auth');
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ ...keys, current: 'k2' }));
    expect(() => parseCliArgs(['--handlers', 'h.js', '--auth-keys-file', bad], {})).toThrow(
      UsageError,
    );
    expect(USAGE).toContain('--auth-keys-file <path>');
  });

  it('writes text logs unless told --log-format json', () => {
    expect(parseCliArgs(['--handlers', 'h.js'], {})).toMatchObject({
      config: { logFormat: 'text' },
    });
  });

  it('takes REDIS_URL and RINGCAST_NAMESPACE as defaults; flags win', () => {
    const env = { REDIS_URL: 'redis://env:2', RINGCAST_NAMESPACE: 'envns' };
    expect(parseCliArgs(['--handlers', 'h.js'], env)).toMatchObject({
      config: { redis: 'redis://env:2', namespace: 'envns' },
    });
    expect(parseCliArgs(['--handlers', 'h.js', '--namespace', 'x'], env)).toMatchObject({
      config: { namespace: 'x' },
    });
    expect(parseCliArgs(['--handlers', 'h.js'], {})).toMatchObject({
      config: { redis: 'redis://127.0.0.1:6379', namespace: 'ringcast' },
    });
  });

  it('takes the TLS flags with a rediss:// URL', () => {
    const args = ['--handlers', 'h.js', '--redis', 'rediss://h:1', '--tls-ca', 'ca.pem'];
    expect(parseCliArgs([...args, '--tls-cert', 'c.pem', '--tls-key', 'k.pem'], {})).toMatchObject({
      config: { redis: 'rediss://h:1', tls: { ca: 'ca.pem', cert: 'c.pem', key: 'k.pem' } },
    });
    expect(() => parseCliArgs([...args.slice(0, 3), 'redis://h:1', ...args.slice(4)], {})).toThrow(
      /--tls-ca needs a rediss:\/\/ URL/,
    );
  });

  it('answers --help and -h without requiring --handlers', () => {
    expect(parseCliArgs(['--help'], {})).toEqual({ help: true });
    expect(parseCliArgs(['-h'], {})).toEqual({ help: true });
  });

  it.each([
    [['--handlers', 'h.js', '--bogus'], /^unknown option --bogus$/],
    [['--handlers', 'h.js', 'extra'], /^unexpected argument "extra"$/],
    [[], /--handlers <module> is required/],
    [['--handlers', 'h.js', '--concurrency', 'four'], /--concurrency must be a whole number/],
    [['--handlers', 'h.js', '--weight', '-1'], /--weight/],
    [['--handlers', 'h.js', '--max-queue', '1.5'], /--max-queue must be/],
    [['--handlers'], /^--handlers needs a value$/],
    [
      ['--handlers', 'h.js', '--log-format', 'yaml'],
      /--log-format must be text or json, got "yaml"/,
    ],
  ])('rejects %j', (argv, pattern) => {
    expect(() => parseCliArgs(argv, {})).toThrow(UsageError);
    expect(() => parseCliArgs(argv, {})).toThrow(pattern);
  });

  it('documents every flag in --help', () => {
    for (const flag of [
      '--handlers',
      '--redis',
      '--namespace',
      '--id',
      '--concurrency',
      '--weight',
      '--max-queue',
      '--heartbeat-interval',
      '--heartbeat-ttl',
      '--drain-timeout',
      '--log-format',
      '--help',
      'REDIS_URL',
      'RINGCAST_NAMESPACE',
    ]) {
      expect(USAGE).toContain(flag);
    }
  });
});

describe('loadHandlers', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ringcast-cli-'));
  const file = (name: string, source: string) => {
    writeFileSync(join(dir, name), source);
    return name;
  };

  it('loads named function exports and a default-exported object', async () => {
    const named = file(
      'named.mjs',
      'export const a = () => 1; export function b() {} export const n = 3;',
    );
    expect(Object.keys(await loadHandlers(named, dir)).sort()).toEqual(['a', 'b']);
    const object = file('object.mjs', 'export default { c: () => 1, d: async () => 2, e: 5 };');
    expect(Object.keys(await loadHandlers(object, dir)).sort()).toEqual(['c', 'd']);
  });

  it('rejects a missing file, a module without functions, and one that fails to load', async () => {
    await expect(loadHandlers('missing.mjs', dir)).rejects.toThrow(/handlers module not found/);
    const none = file('none.mjs', 'export const x = 1; export default 2;');
    await expect(loadHandlers(none, dir)).rejects.toThrow(/exports no functions/);
    const broken = file('broken.mjs', 'export const = ;');
    await expect(loadHandlers(broken, dir)).rejects.toThrow(UsageError);
  });

  it('reports whatever a module throws as one redacted line, even what cannot be printed', async () => {
    const unprintable = file('unprintable.mjs', 'throw Object.create(null);');
    await expect(loadHandlers(unprintable, dir)).rejects.toThrow(
      /could not load handlers module .*: an unprintable error/,
    );
    const secret = file(
      'secret.mjs',
      'throw { toString() { return "cannot reach redis://:hunter2@h:6379"; } };',
    );
    const error = await loadHandlers(secret, dir).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toContain('redis://***@h:6379');
    expect((error as Error).message).not.toContain('hunter2');
  });
});
