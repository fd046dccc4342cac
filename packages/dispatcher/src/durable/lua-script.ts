/**
 * A Lua script run by its SHA1 (EVALSHA), sent whole (EVAL) only when Redis
 * does not know it yet: after a restart, a SCRIPT FLUSH, or the first time. The
 * store's scripts run on every claim and settle, so sending their text each
 * time would cost more bytes than the tasks. ioredis's `defineCommand` does the
 * same, but adds a method to the client, and the client may be the
 * application's own.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

export class LuaScript {
  readonly #source: string;
  readonly #sha: string;
  /** This script with SPUBLISH for PUBLISH, for a cluster; made on first use. */
  #sharded: LuaScript | undefined;

  constructor(source: string) {
    this.#source = source;
    this.#sha = createHash('sha1').update(source).digest('hex');
  }

  async run(
    redis: Redis,
    keys: readonly string[],
    args: ReadonlyArray<string | number>,
  ): Promise<unknown> {
    // On a Redis Cluster the store's channels are sharded, and in the namespace's slot
    // like its keys (protocol's names): a script announces on them with SPUBLISH.
    if ((redis as { isCluster?: boolean }).isCluster === true && this.#sharded !== this) {
      this.#sharded ??= LuaScript.#shardedVariant(this.#source);
      return this.#sharded.run(redis, keys, args);
    }
    try {
      return await redis.evalsha(this.#sha, keys.length, ...keys, ...args);
    } catch (error) {
      // NOSCRIPT: Redis refused it unread, so sending the text cannot run it twice.
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return redis.eval(this.#source, keys.length, ...keys, ...args);
    }
  }

  static #shardedVariant(source: string): LuaScript {
    const sharded = new LuaScript(
      source.replaceAll("redis.call('PUBLISH'", "redis.call('SPUBLISH'"),
    );
    // Its own variant is itself: run() must not swap it again.
    sharded.#sharded = sharded;
    return sharded;
  }
}
