/**
 * A side's two connections for any `redis` option (a URL, ioredis options, a
 * client, or a cluster target), made with the ioredis constructors the side
 * hands in: this package needs no Redis library of its own. Both sides open
 * their connections here, so a URL, options and a cluster mean the same to each.
 */
import {
  type ClusterConstructor,
  isClusterTarget,
  openClusterConnections,
} from './cluster-target.js';
import { type ConnectionPair, type connectionDefaults, openConnections } from './connection.js';

/** What ringcast needs of ioredis's `Redis` constructor: a URL with options, or options. */
export interface RedisConstructor<C, O extends object> {
  new (url: string, options: ReturnType<typeof connectionDefaults>): C;
  new (options: O): C;
}

/** The ioredis constructors a side opens its connections with. */
export interface IoredisConstructors<C, O extends object> {
  Redis: RedisConstructor<C, O>;
  Cluster: ClusterConstructor<unknown>;
}

/**
 * The command and subscriber connections of `redis`, named `name`: on a cluster
 * target, a Cluster and its sharded subscriber ({@link openClusterConnections}),
 * typed as `C` since a Cluster has the commands used under the same names;
 * otherwise a client of `Redis` ({@link openConnections}), whose subscriber gets
 * `subscriberOptions` too.
 */
export function openIoredisConnections<
  C extends { duplicate(options?: object): C },
  O extends object,
>(
  redis: string | O | C | object,
  name: string,
  { Redis, Cluster }: IoredisConstructors<C, O>,
  subscriberOptions: object = {},
): ConnectionPair<C> {
  if (isClusterTarget(redis)) {
    return openClusterConnections(redis as object, name, Cluster) as unknown as ConnectionPair<C>;
  }
  return openConnections<C, O>(
    redis as string | O | C,
    name,
    (target, defaults) =>
      typeof target === 'string'
        ? new Redis(target, defaults)
        : new Redis({ ...target, ...defaults }),
    subscriberOptions,
  );
}
