import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { runRingcast } from './admin-cli.js';
import { type PrivateRedisHandle, usePrivateRedis } from './redis.js';

/** One entry of Redis's ACL LOG: a command, key or channel it refused a user. */
export interface AclDenial {
  reason: string;
  object: string;
  username: string;
  /** How many times: Redis counts alike refusals in one entry. */
  count: number;
}

export interface LockedRedisHandle {
  readonly redis: PrivateRedisHandle;
  /** The harness's own user, allowed everything; the default user is off. */
  admin(): Redis;
  /** That user's URL. */
  readonly adminUrl: string;
  /** The URL of `user` with `password`. */
  urlOf(user: string, password: string): string;
  /**
   * Creates a Redis user from `ringcast acl --json <args>` (run as the built
   * CLI, with a fresh password in an environment variable) and returns its URL.
   */
  createUser(args: readonly string[]): Promise<{ user: string; url: string; rules: string[] }>;
  /** What Redis refused since the last {@link resetDenials}. */
  denials(): Promise<AclDenial[]>;
  resetDenials(): Promise<void>;
}

/**
 * Call at the top of a describe block: a private redis-server with an
 * administrator for the harness and the default user disabled, so every other
 * connection must log in as a user of its own.
 */
export function useLockedRedis(): LockedRedisHandle {
  const redis = usePrivateRedis();
  const harnessPassword = randomBytes(16).toString('hex');
  let admin: Redis | undefined;
  const urlOf = (user: string, password: string) =>
    redis.url.replace('redis://', `redis://${user}:${password}@`);

  beforeAll(async () => {
    const root = new Redis(redis.url);
    await root.call('ACL', 'SETUSER', 'harness', 'on', `>${harnessPassword}`, '~*', '&*', '+@all');
    await root.quit();
    admin = new Redis(urlOf('harness', harnessPassword));
    await admin.call('ACL', 'SETUSER', 'default', 'off');
  });
  afterAll(async () => {
    await admin?.quit();
  });
  const harness = (): Redis => {
    if (!admin) throw new Error('the locked Redis is not started yet');
    return admin;
  };
  return {
    redis,
    admin: harness,
    get adminUrl() {
      return urlOf('harness', harnessPassword);
    },
    urlOf,
    async createUser(args) {
      const password = randomBytes(16).toString('hex');
      const run = await runRingcast(
        ['acl', ...args, '--password-env', 'ACL_TEST_PASSWORD', '--json'],
        {
          env: { ACL_TEST_PASSWORD: password },
        },
      );
      if (run.code !== 0) throw new Error(`ringcast acl ${args.join(' ')} failed: ${run.stderr}`);
      const out = JSON.parse(run.stdout) as { user: string; args: string[] };
      await harness().call('ACL', ...out.args);
      return { user: out.user, url: urlOf(out.user, password), rules: out.args.slice(2) };
    },
    async denials() {
      // ACL LOG alone answers the latest 10 entries; Redis keeps up to acllog-max-len (128).
      const log = (await harness().call('ACL', 'LOG', '1000')) as unknown[][];
      return log.map((entry) => {
        const fields: Record<string, unknown> = {};
        for (let i = 0; i + 1 < entry.length; i += 2) fields[String(entry[i])] = entry[i + 1];
        return {
          reason: String(fields['reason']),
          object: String(fields['object']),
          username: String(fields['username']),
          count: Number(fields['count']),
        };
      });
    },
    async resetDenials() {
      await harness().call('ACL', 'LOG', 'RESET');
    },
  };
}
