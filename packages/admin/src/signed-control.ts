/**
 * What `ringcast reweight` and `ringcast drain` publish, signed: with frame
 * authentication on, workers drop an unsigned request, so the operator's tool
 * seals it with the deployment's keys (`--auth-keys-file` or
 * `RINGCAST_AUTH_KEYS`), bound to the worker's channel and the time of sending.
 * Everything else the control calls do (reading the registry, writing the
 * weight policy) is plain Redis and goes through unchanged.
 */
import { type AuthOptions, FrameSealer, parseAuthOptions } from '@ringcast/protocol';
import type { ControlRedis } from './worker-control.js';

/** `redis` as the control calls take it, its publishes sealed with `auth`; as it is without. */
export function signedControl(redis: ControlRedis, auth: AuthOptions | undefined): ControlRedis {
  if (auth === undefined) return redis;
  const sealer = new FrameSealer(parseAuthOptions(auth));
  const publish = (channel: string, frame: string) =>
    redis.publish(channel, sealer.seal(channel, frame, Date.now()));
  const spublish = (channel: string, frame: string) =>
    redis.spublish(channel, sealer.seal(channel, frame, Date.now()));
  return {
    ...(redis.isCluster !== undefined && { isCluster: redis.isCluster }),
    spublish: spublish as ControlRedis['spublish'],
    hget: redis.hget.bind(redis),
    hset: redis.hset.bind(redis),
    hdel: redis.hdel.bind(redis),
    mget: redis.mget.bind(redis),
    publish: publish as ControlRedis['publish'],
  };
}
