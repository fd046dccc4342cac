import { parseArgs } from 'node:util';
import { describe, expect, it } from 'vitest';
import { describeArgsError } from './cli-args-error.js';

function refusal(args: string[], allowPositionals = false): string {
  try {
    parseArgs({
      args,
      strict: true,
      allowPositionals,
      options: { weight: { type: 'string' }, help: { type: 'boolean' } },
    });
  } catch (error) {
    return describeArgsError(error);
  }
  throw new Error('parseArgs took it');
}

describe('describeArgsError', () => {
  it.each([
    [['--bogus'], false, 'unknown option --bogus'],
    [['--bogus'], true, 'unknown option --bogus'],
    [
      ['--weight', '-1'],
      false,
      '--weight needs a value; for one that starts with "-", write --weight=<value>',
    ],
    [['--weight'], false, '--weight needs a value'],
    [['--help=3'], false, '--help takes no value'],
    [['stray'], false, 'unexpected argument "stray"'],
  ])('%j (positionals %s): %s', (args, positionals, expected) => {
    expect(refusal(args, positionals)).toBe(expected);
  });

  it('keeps the first line of any other error', () => {
    expect(describeArgsError(new Error('first\nsecond'))).toBe('first');
    expect(describeArgsError('plain')).toBe('plain');
  });
});
