import { FrameSealer, names, parseAuthOptions } from '@ringcast/protocol';
import { describe, expect, it } from 'vitest';
import { signedControl } from './signed-control.js';
import type { ControlRedis } from './worker-control.js';

const AUTH = { keys: { k1: 'a-secret-of-at-least-32-characters-here' }, current: 'k1' };

/** A control client that keeps what it was asked to publish. */
function recording() {
  const published: Array<[string, string]> = [];
  const redis = {
    hget: async () => null,
    hset: async () => 1,
    hdel: async () => 1,
    mget: async () => [],
    publish: async (channel: string, frame: string) => {
      published.push([channel, frame]);
      return 1;
    },
  } as unknown as ControlRedis;
  return { redis, published };
}

describe('signedControl', () => {
  it('is the client itself without auth', () => {
    const { redis } = recording();
    expect(signedControl(redis, undefined)).toBe(redis);
  });

  it('seals what it publishes for the channel it goes to, and leaves the rest alone', async () => {
    const { redis, published } = recording();
    const channel = names('ns').workerChannel('w1');
    const control = signedControl(redis, AUTH);
    expect(await control.publish(channel, '{"v":2,"m":[]}')).toBe(1);
    expect(await control.hget('k', 'f')).toBeNull();
    const [[to, frame]] = published as [[string, string]];
    expect(to).toBe(channel);
    const opened = new FrameSealer(parseAuthOptions(AUTH)).open(channel, frame, Date.now());
    expect(typeof opened === 'object' && opened.body).toBe('{"v":2,"m":[]}');
  });
});
