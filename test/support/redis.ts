import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { type RedisServer, redisServerBinary, startRedisServer } from './redis-server.js';

export interface RedisAvailability {
  available: boolean;
  /** Where Redis comes from, or why there is none. */
  reason: string;
}

// biome-ignore lint/suspicious/noUndeclaredEnvVars: read by vitest, which turbo does not run
const redisUrl = process.env['REDIS_URL'] || undefined;
const binary = redisServerBinary();

/** True when tests can spawn their own redis-server (needed to kill, pause or restart it). */
export const privateRedisAvailable: boolean = binary !== undefined;

/** Whether integration tests can get any Redis at all; computed synchronously at import. */
export const redisAvailability: RedisAvailability = redisUrl
  ? { available: true, reason: 'REDIS_URL is set' }
  : binary
    ? { available: true, reason: `private redis-server from ${binary}` }
    : {
        available: false,
        reason:
          'no Redis: redis-server is not on the PATH and REDIS_URL is not set ' +
          '(install it with `sudo apt-get install -y redis-server`, or set REDIS_URL)',
      };

export interface RedisHandle {
  /** Valid from beforeAll on. */
  readonly url: string;
  /** The private server, or undefined when the tests use REDIS_URL. */
  readonly server: RedisServer | undefined;
}

export interface PrivateRedisHandle extends RedisHandle {
  readonly server: RedisServer;
}

/**
 * Call at the top of a describe block: REDIS_URL if set, else a private redis-server
 * started in beforeAll and stopped in afterAll. Never flush a Redis you did not start;
 * use {@link uniqueNamespace} instead.
 */
export function useRedis(): RedisHandle {
  if (redisUrl) return { url: redisUrl, server: undefined };
  return usePrivateRedis();
}

/** Like {@link useRedis} but always a private server, for tests that kill, pause or restart it. */
export function usePrivateRedis(): PrivateRedisHandle {
  let server: RedisServer | undefined;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server?.stop();
  });
  const started = (): RedisServer => {
    if (!server) throw new Error('Redis is not started yet; use it inside a test or hook');
    return server;
  };
  return {
    get url() {
      return started().url;
    },
    get server() {
      return started();
    },
  };
}

/** A fresh namespace per test, so tests sharing one Redis never see each other's keys. */
export function uniqueNamespace(): string {
  return `test-${randomUUID()}`;
}
