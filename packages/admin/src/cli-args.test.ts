import { DEFAULT_NAMESPACE, DEFAULT_REDIS_URL, MAX_WEIGHT, UsageError } from '@ringcast/protocol';
import { describe, expect, it } from 'vitest';
import { mainHelp, parseCommandLine } from './cli-args.js';
import { COMMANDS } from './commands/index.js';

const parse = (argv: string[], env: Record<string, string> = {}) =>
  parseCommandLine(argv, env, COMMANDS);

describe('parseCommandLine', () => {
  it('reads a command with the common options, from flags, env or defaults', () => {
    expect(parse(['workers'])).toMatchObject({
      kind: 'run',
      command: { name: 'workers' },
      redis: DEFAULT_REDIS_URL,
      namespace: DEFAULT_NAMESPACE,
      json: false,
    });
    expect(
      parse(['stats', '--json'], { REDIS_URL: 'redis://env:7000', RINGCAST_NAMESPACE: 'prod' }),
    ).toMatchObject({ redis: 'redis://env:7000', namespace: 'prod', json: true });
    expect(
      parse(['stats', '--redis', 'rediss://flag:1', '--namespace', 'a.b'], {
        REDIS_URL: 'redis://env:7000',
      }),
    ).toMatchObject({ redis: 'rediss://flag:1', namespace: 'a.b' });
  });

  it('reads --cluster for every command instead of --redis, and refuses both together', () => {
    const line = parse(['workers', '--cluster', '127.0.0.1:7000,127.0.0.1:7001'], {
      REDIS_URL: 'redis://env:1',
    });
    expect(line).toMatchObject({
      kind: 'run',
      cluster: [
        { host: '127.0.0.1', port: 7000 },
        { host: '127.0.0.1', port: 7001 },
      ],
    });
    expect(parse(['workers'])).not.toHaveProperty('cluster');
    expect(() => parse(['workers', '--cluster', 'h:1', '--redis', 'redis://h:2'])).toThrow(
      /mutually exclusive/,
    );
    expect(() => parse(['workers', '--cluster', 'h'])).toThrow(UsageError);
    expect(mainHelp(COMMANDS)).toContain('--cluster <host:port,...>');
  });

  it('reads the TLS flags of every command, with a rediss:// URL only', () => {
    const tls = ['--tls-ca', 'ca.pem', '--tls-cert', 'c.pem', '--tls-key', 'k.pem'];
    expect(parse(['workers', '--redis', 'rediss://h:1', ...tls])).toMatchObject({
      redis: 'rediss://h:1',
      tls: { ca: 'ca.pem', cert: 'c.pem', key: 'k.pem' },
    });
    expect(parse(['workers'])).not.toHaveProperty('tls');
    expect(() => parse(['workers', ...tls])).toThrow(UsageError);
  });

  it('reads the frame keys from --auth-keys-file or RINGCAST_AUTH_KEYS, naming no secret when they are bad', () => {
    const keys = { keys: { k1: 'SECRET-of-at-least-32-characters-001' }, current: 'k1' };
    expect(parse(['drain', 'w-1'], { RINGCAST_AUTH_KEYS: JSON.stringify(keys) })).toMatchObject({
      auth: keys,
    });
    expect(parse(['drain', 'w-1'])).toMatchObject({ auth: undefined });
    const bad = JSON.stringify({ ...keys, current: 'k2' });
    expect(() => parse(['drain', 'w-1'], { RINGCAST_AUTH_KEYS: bad })).toThrow(UsageError);
    expect(() => parse(['drain', 'w-1'], { RINGCAST_AUTH_KEYS: `${bad.slice(0, 30)}` })).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('SECRET') }),
    );
    expect(() => parse(['drain', 'w-1', '--auth-keys-file', '/nonexistent/keys.json'])).toThrow(
      /--auth-keys-file \/nonexistent\/keys\.json cannot be read/,
    );
  });

  it('reads each command its arguments', () => {
    expect(parse(['reweight', 'w-1', '25'])).toMatchObject({
      args: { reset: false, id: 'w-1', weight: 25, timeoutMs: 3_000 },
    });
    expect(parse(['reweight', '--timeout', '500', 'w-1', String(MAX_WEIGHT)])).toMatchObject({
      args: { id: 'w-1', weight: MAX_WEIGHT, timeoutMs: 500 },
    });
    expect(parse(['reweight', 'w-1', '--reset'])).toMatchObject({
      args: { reset: true, id: 'w-1' },
    });
    expect(parse(['drain', 'w-1'])).toMatchObject({ args: { id: 'w-1', timeoutMs: 60_000 } });
    expect(parse(['drain', 'w-1', '--timeout', '0'])).toMatchObject({ args: { timeoutMs: 0 } });
    expect(parse(['inspect', 'task_1.x'])).toMatchObject({ args: 'task_1.x' });
  });

  it('answers --help, for ringcast and for each command', () => {
    const main = parse(['--help']);
    expect(main).toEqual({ kind: 'help', text: mainHelp(COMMANDS) });
    for (const name of COMMANDS.keys()) {
      expect(main.kind === 'help' && main.text).toContain(`\n  ${name}`);
      const help = parse([name, '-h']);
      expect(help.kind).toBe('help');
      expect(help.kind === 'help' && help.text).toMatch(new RegExp(`^Usage: ringcast ${name}`));
      expect(help.kind === 'help' && help.text).toContain('--namespace <ns>');
    }
  });

  it.each([
    [[], /a command is required/],
    [['--json'], /the command comes first/],
    [['nope'], /unknown command "nope"; commands: workers, stats/],
    [['workers', '--bogus'], /--bogus/],
    [['workers', 'extra'], /unexpected argument "extra"/],
    [['workers', '--redis', 'http://x'], /must start with redis:\/\//],
    [['workers', '--redis', 'redis://u:hunter2@[bad'], /\*\*\*/],
    [['workers', '--namespace', 'no spaces'], /--namespace must be/],
    [['workers', '--namespace'], /^--namespace needs a value$/],
    [['reweight'], /missing <worker-id> <weight>/],
    [['reweight', 'w-1'], /missing <weight>/],
    [['reweight', 'w-1', '0'], /<weight> must be an integer from 1 to 1000000, got "0"/],
    [['reweight', 'w-1', String(MAX_WEIGHT + 1)], /<weight> must be an integer/],
    [['reweight', 'w-1', '2.5'], /<weight> must be an integer/],
    [['reweight', 'w-1', '-3'], /-3/],
    [['reweight', 'w-1', 'abc'], /<weight> must be an integer/],
    [['reweight', 'w 1', '3'], /"w 1" is not a valid worker id/],
    [['reweight', 'w-1', '3', '--timeout', 'soon'], /--timeout must be whole milliseconds/],
    [['reweight', 'w-1', '3', '--reset'], /unexpected argument "3"/],
    [['reweight', 'w-1', '--reset', '--timeout', '5'], /--timeout does not go with --reset/],
    [['drain'], /missing <worker-id>/],
    [['drain', 'w-1', '--timeout', '-1'], /--timeout/],
    [['inspect'], /missing <task-id>/],
    [['inspect', 'a/b'], /"a\/b" is not a valid task id/],
  ])('refuses %j with a UsageError', (argv, message) => {
    expect(() => parse(argv)).toThrow(UsageError);
    expect(() => parse(argv)).toThrow(message);
  });

  it('never quotes a password from the Redis URL', () => {
    try {
      parse(['workers', '--redis', 'redis://user:hunter2@host:6379/0?keyPrefix=x']);
      expect.unreachable();
    } catch (error) {
      expect(String(error)).not.toContain('hunter2');
    }
  });
});
