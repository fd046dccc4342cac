import { ErrorCode, RingcastError, UsageError } from '@ringcast/protocol';
import { describe, expect, it } from 'vitest';
import type { AnyCommand } from './command.js';
import { CommandFailure } from './errors.js';
import { main } from './main.js';

/** A command that does what `behave` says, so main's handling of each outcome shows. */
function command(behave: () => Promise<void>): ReadonlyMap<string, AnyCommand> {
  const probe: AnyCommand = {
    name: 'probe',
    synopsis: 'probe',
    summary: 'a test command',
    help: 'Usage: ringcast probe\n',
    options: {},
    parse: () => undefined,
    run: async (ctx) => {
      ctx.out(`namespace ${ctx.namespace}`);
      await behave();
    },
  };
  return new Map([['probe', probe]]);
}

async function run(argv: string[], behave: () => Promise<void> = async () => {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(
    argv,
    {},
    { stdout: (t) => out.push(t), stderr: (t) => err.push(t) },
    command(behave),
  );
  return { code, stdout: out.join(''), stderr: err.join('') };
}

describe('main', () => {
  it('exits 0 with what the command printed', async () => {
    expect(await run(['probe', '--namespace', 'n1'])).toEqual({
      code: 0,
      stdout: 'namespace n1\n',
      stderr: '',
    });
  });

  it('prints help on stdout and exits 0', async () => {
    const { code, stdout, stderr } = await run(['probe', '--help']);
    expect([code, stderr]).toEqual([0, '']);
    expect(stdout).toMatch(/^Usage: ringcast probe\n/);
  });

  it('exits 2 with one line for bad usage', async () => {
    const { code, stdout, stderr } = await run(['probe', '--nope']);
    expect([code, stdout]).toEqual([2, '']);
    expect(stderr).toMatch(/^ringcast: .*--nope.* \(see --help\)\n$/);
  });

  it.each([
    ['a failure', new CommandFailure('no live worker w1'), 1, 'ringcast: no live worker w1\n'],
    [
      'a Redis error, redacted',
      new RingcastError(ErrorCode.REDIS_ERROR, 'lost redis://u:hunter2@h:1\nsecond line'),
      1,
      'ringcast: lost redis://***@h:1\n',
    ],
    ['an unexpected error', new TypeError('bug'), 1, 'ringcast: bug\n'],
    ['a usage error found late', new UsageError('bad'), 2, 'ringcast: bad\n'],
  ])('turns %s into exit %i and one line', async (_what, error, code, line) => {
    const result = await run(['probe'], async () => {
      throw error;
    });
    expect(result).toEqual({ code, stdout: 'namespace ringcast\n', stderr: line });
  });
});
