import { describe, expect, it } from 'vitest';
import {
  DEFAULT_PORT,
  DEFAULT_WEIGHTS,
  parseExampleArgs,
  parseLoadArgs,
  UsageError,
} from './args.js';
import { DEFAULT_CONCURRENCY, DEFAULT_RATE } from './load.js';

describe('npm run example flags', () => {
  it('has defaults for everything', () => {
    expect(parseExampleArgs([])).toEqual({
      help: false,
      args: {
        durationS: 10,
        rate: DEFAULT_RATE,
        concurrency: DEFAULT_CONCURRENCY,
        weights: [...DEFAULT_WEIGHTS],
        port: DEFAULT_PORT,
        keep: false,
      },
    });
  });

  it('reads every flag', () => {
    const args = [
      '--duration',
      '0',
      '--rate',
      '5',
      '--concurrency',
      '2',
      '--weights',
      '4, 1',
    ].concat(['--port', '0', '--keep']);
    expect(parseExampleArgs(args)).toEqual({
      help: false,
      args: { durationS: 0, rate: 5, concurrency: 2, weights: [4, 1], port: 0, keep: true },
    });
    expect(parseExampleArgs(['-h'])).toEqual({ help: true });
  });

  it.each([
    [['--duration', '1.5'], /--duration must be an integer from 0 to 3600/],
    [['--rate', '0'], /--rate must be an integer from 1/],
    [['--port', '65536'], /--port must be an integer from 0 to 65535/],
    [['--weights', '1,,2'], /--weights must be an integer/],
    [['--weights', '1,1,1,1,1,1,1,1,1'], /at most 8/],
    [['--keep', 'yes'], /positional/],
  ])('%j is a UsageError', (argv, message) => {
    expect(() => parseExampleArgs(argv)).toThrow(UsageError);
    expect(() => parseExampleArgs(argv)).toThrow(message);
  });
});

describe('load script flags', () => {
  it('defaults to the API npm run example serves, and drops a trailing slash', () => {
    expect(parseLoadArgs([])).toMatchObject({ args: { url: `http://127.0.0.1:${DEFAULT_PORT}` } });
    expect(parseLoadArgs(['--url', 'http://h:1/'])).toMatchObject({ args: { url: 'http://h:1' } });
  });

  it.each([['redis://h:1'], ['not a url']])('refuses --url %s', (url) => {
    expect(() => parseLoadArgs(['--url', url])).toThrow(/--url must be an http/);
  });
});
