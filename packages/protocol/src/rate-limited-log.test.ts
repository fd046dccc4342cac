import { describe, expect, it } from 'vitest';
import { RateLimitedLog } from './rate-limited-log.js';

function setup(intervalMs = 1_000) {
  let now = 0;
  const lines: string[] = [];
  const log = new RateLimitedLog(
    (line) => lines.push(line),
    intervalMs,
    () => now,
  );
  return {
    log,
    lines,
    advance(ms: number) {
      now += ms;
    },
  };
}

describe('RateLimitedLog', () => {
  it('writes one line per kind per interval and counts what it held back', () => {
    const { log, lines, advance } = setup();
    expect(log.log('invalid', 'bad frame 1')).toBe(true);
    expect(log.log('invalid', 'bad frame 2')).toBe(false);
    advance(999);
    expect(log.log('invalid', 'bad frame 3')).toBe(false);
    advance(1);
    expect(log.log('invalid', 'bad frame 4')).toBe(true);
    advance(1_000);
    log.log('invalid', 'bad frame 5');
    expect(lines).toEqual([
      'bad frame 1',
      'bad frame 4 (2 similar suppressed since)',
      'bad frame 5',
    ]);
  });

  it('gives every kind its own budget, so a flood of one mutes no other', () => {
    const { log, lines, advance } = setup();
    for (let i = 0; i < 1_000; i++) log.log('invalid', `bad frame ${i}`);
    log.log('heartbeat', 'heartbeat failed');
    log.log('publish', 'publish failed');
    advance(10);
    log.log('heartbeat', 'heartbeat failed again');
    expect(lines).toEqual(['bad frame 0', 'heartbeat failed', 'publish failed']);
    advance(1_000);
    log.log('invalid', 'bad frame');
    log.log('heartbeat', 'heartbeat failed');
    expect(lines.slice(3)).toEqual([
      'bad frame (999 similar suppressed since)',
      'heartbeat failed (1 similar suppressed since)',
    ]);
  });

  it('redacts credentials and survives a logger that throws', () => {
    const { log, lines } = setup();
    log.log('redis', 'connect ENOENT //:secret@h:6379');
    expect(lines).toEqual(['connect ENOENT //***@h:6379']);
    const broken = new RateLimitedLog(
      () => {
        throw new Error('logger down');
      },
      1_000,
      () => 0,
    );
    expect(() => broken.log('x', 'y')).not.toThrow();
  });

  it('stays bounded however many kinds it is given', () => {
    const { log, lines } = setup();
    for (let i = 0; i < 10_000; i++) log.log(`kind-${i}`, `line ${i}`);
    expect(lines).toHaveLength(10_000);
    // The oldest kinds were forgotten, so they may write again at once.
    expect(log.log('kind-0', 'again')).toBe(true);
  });
});
