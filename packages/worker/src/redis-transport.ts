/**
 * The worker's transport on ioredis: the one file that talks to Redis. It owns
 * the two connections (commands, and the subscriber), their lifecycle and
 * events, the MULTI batches and the id claim's Lua script. The heartbeat runs in
 * a thread with a connection of its own (presence.ts).
 */
import {
  BEAT_SCRIPT,
  beatKeys,
  type Clock,
  type ConnectionErrors,
  type ConnectionPair,
  closeConnections,
  connectBoth,
  describeRedis,
  isClusterTarget,
  LEAVE_SCRIPT,
  type Names,
  openIoredisConnections,
  type RegistryLogKeys,
  startFailure,
  systemClock,
  watchConnections,
} from '@ringcast/protocol';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { Presence } from './presence.js';
import {
  type ClaimCheck,
  type PresenceHandle,
  type PresenceSetup,
  UNSUBSCRIBE_MS,
  type WorkerTransport,
  type WorkerTransportEvents,
} from './transport.js';
import { leaveKeys, registryLogKeys } from './worker-keys.js';

/**
 * KEYS[1] the claim key; ARGV: incarnation, TTL in ms, channel, how many of the
 * channel's subscribers are the caller's own (0 or 1). Returns [held, subscribers].
 * PUBSUB is nondeterministic; Redis 5 and later replicate a script's effects, so
 * it may still write after it. The rules are identity.ts's.
 */
const CLAIM_SCRIPT = `
local holder = redis.call('GET', KEYS[1])
local subscribers = redis.call('PUBSUB', 'NUMSUB', ARGV[3])[2]
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {1, subscribers}
end
if holder and subscribers > tonumber(ARGV[4]) then
  return {0, subscribers}
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return {1, subscribers}
`;

/**
 * The claim on a Redis Cluster: the same, but the channel is sharded, so its
 * subscribers are counted with SHARDNUMSUB; the claim key shares the channel's
 * slot (protocol's names), so the script runs on the node that serves both.
 */
const SHARDED_CLAIM_SCRIPT = CLAIM_SCRIPT.replace("'NUMSUB'", "'SHARDNUMSUB'");

/** The one Redis call the claim needs; an ioredis client is one. */
export interface EvalClient {
  eval(script: string, numKeys: number, ...args: Array<string | number>): Promise<unknown>;
}

/** One atomic check of the id's claim (see identity.ts for what it decides). */
export async function checkClaim(
  client: EvalClient,
  names: Names,
  id: string,
  incarnation: string,
  ttlMs: number,
  subscribed: boolean,
): Promise<ClaimCheck> {
  const reply = await client.eval(
    names.cluster ? SHARDED_CLAIM_SCRIPT : CLAIM_SCRIPT,
    1,
    names.claimKey(id),
    incarnation,
    ttlMs,
    names.workerChannel(id),
    subscribed ? 1 : 0,
  );
  const [held, subscribers] = Array.isArray(reply) ? reply : [];
  return { held: held === 1, subscribers: typeof subscribers === 'number' ? subscribers : 0 };
}

/** A MULTI's replies: throws the first command's error, as `exec` does not. */
function check(results: Array<[Error | null, unknown]> | null): void {
  const failed = results?.find(([error]) => error)?.[0];
  if (failed) throw failed;
}

export class RedisWorkerTransport implements WorkerTransport {
  readonly clock: Clock;
  readonly #redis: string | RedisOptions | Redis | Cluster;
  /** On a Redis Cluster (protocol's cluster-target.ts): the channels are sharded. */
  readonly #sharded: boolean;
  readonly #names: Names;
  readonly #id: string;
  readonly #channel: string;
  #connections: ConnectionPair<Redis> | undefined;
  /** Whether the worker wants its channel: subscribed again after each reconnect while it does. */
  #wantsChannel = false;
  #errors: ConnectionErrors | undefined;
  #events: WorkerTransportEvents | undefined;
  readonly #presenceThread: boolean;

  /**
   * `redis`: a URL, ioredis options, or a client the caller keeps (never closed here).
   * `presenceThread: false` beats from the main loop (see presence.ts's `thread`).
   */
  constructor(
    redis: string | RedisOptions | Redis | Cluster,
    names: Names,
    id: string,
    clock = systemClock,
    { presenceThread = true }: { presenceThread?: boolean } = {},
  ) {
    this.clock = clock;
    this.#presenceThread = presenceThread;
    this.#redis = redis;
    this.#sharded = isClusterTarget(redis);
    this.#names = names;
    this.#id = id;
    this.#channel = names.workerChannel(id);
  }

  get subscriberUp(): boolean {
    return this.#connections?.subscriber.status === 'ready';
  }

  async connect(events: WorkerTransportEvents): Promise<void> {
    this.#events = events;
    const name = `ringcast-worker:${this.#id}`;
    // No SUBSCRIBE of ioredis's own after a reconnect: it sends one without a rejection
    // handler, so a close in the middle of the reconnected subscriber's handshake failed it as
    // an unhandled rejection, which ends the process. This transport subscribes again itself
    // on each 'ready' while the worker wants its channel, and handles what that rejects with.
    const connections = openIoredisConnections<Redis, RedisOptions>(
      this.#redis,
      name,
      { Redis, Cluster },
      { autoResubscribe: false },
    );
    this.#connections = connections;
    const { command, subscriber } = connections;
    this.#errors = watchConnections(connections, (error, role) => events.error(error, role));
    command.on('ready', this.#onCommandReady);
    subscriber.on('close', this.#onSubscriberClose);
    subscriber.on('ready', this.#onSubscriberReady);
    subscriber.on(this.#sharded ? 'smessage' : 'message', this.#onMessage);
    await connectBoth(connections);
  }

  #onCommandReady = (): void => this.#events?.commandReady();
  #onSubscriberClose = (): void => this.#events?.subscriberClosed();
  #onSubscriberReady = (): void => {
    // A Cluster's sharded subscribers subscribe again themselves, with their errors handled.
    if (this.#wantsChannel && !this.#sharded) {
      // A failure is not lost: recovery subscribes again and proves it (recovery.ts).
      this.#connections?.subscriber.subscribe(this.#channel).catch(() => undefined);
    }
    this.#events?.subscriberReady();
  };
  #onMessage = (_channel: string, data: string): void => this.#events?.message(data);

  #command(): Redis {
    const connections = this.#connections;
    if (!connections) throw new Error('Connection is closed.');
    return connections.command;
  }

  async subscribe(): Promise<void> {
    this.#wantsChannel = true;
    const subscriber = this.#connections?.subscriber;
    if (this.#sharded) await subscriber?.ssubscribe(this.#channel);
    else await subscriber?.subscribe(this.#channel);
  }

  async unsubscribe(): Promise<void> {
    this.#wantsChannel = false;
    const subscriber = this.#connections?.subscriber;
    if (this.#sharded) await subscriber?.sunsubscribe(this.#channel);
    else await subscriber?.unsubscribe(this.#channel);
  }

  async publish(channel: string, frame: string): Promise<number> {
    const command = this.#command();
    return this.#sharded
      ? Number(await command.spublish(channel, frame))
      : command.publish(channel, frame);
  }

  async claim(incarnation: string, ttlMs: number, subscribed: boolean): Promise<ClaimCheck> {
    return checkClaim(this.#command(), this.#names, this.#id, incarnation, ttlMs, subscribed);
  }

  async readWeightPolicy(): Promise<string | null> {
    return this.#command().hget(this.#names.weightsKey, this.#id);
  }

  async register(entry: string, incarnation: string, ttlMs: number): Promise<void> {
    // A beat whose heartbeat says the incarnation alone: the change it logs is the news.
    const keys = beatKeys(this.#logKeys());
    await this.#command().eval(
      BEAT_SCRIPT,
      keys.length,
      ...keys,
      this.#id,
      entry,
      incarnation,
      ttlMs,
    );
  }

  async leave(): Promise<void> {
    const keys = beatKeys(this.#logKeys());
    // The claim lives in the id's own slot on a cluster, apart from the registry (and the
    // stats key) in the namespace's: separate commands, never one spanning both slots.
    await Promise.all([
      this.#command().eval(LEAVE_SCRIPT, keys.length, ...keys, this.#id),
      ...leaveKeys(this.#names, this.#id).map((key) => this.#command().del(key)),
    ]);
  }

  #logKeys(): RegistryLogKeys {
    return registryLogKeys(this.#names, this.#id);
  }

  async publishStats(report: string, ttlMs: number): Promise<void> {
    await this.#command().set(this.#names.workerStatsKey(this.#id), report, 'PX', ttlMs);
  }

  async park(replyTo: string, frame: string, ttlMs: number, max: number): Promise<void> {
    const key = this.#names.parkedKey(replyTo);
    const results = await this.#command()
      .multi()
      .rpush(key, frame)
      .pexpire(key, ttlMs)
      .ltrim(key, -max, -1)
      .exec();
    check(results);
  }

  presence(setup: PresenceSetup): PresenceHandle {
    return new Presence({
      redis: this.#redis,
      command: this.#command(),
      registryKey: this.#names.registryKey,
      registryVersionKey: this.#names.registryVersionKey,
      registryChangesKey: this.#names.registryChangesKey,
      heartbeatDeadlinesKey: this.#names.heartbeatDeadlinesKey,
      weightsKey: this.#names.weightsKey,
      heartbeatKey: this.#names.heartbeatKey(this.#id),
      claimKey: this.#names.claimKey(this.#id),
      id: this.#id,
      thread: this.#presenceThread,
      ...setup,
    });
  }

  startFailure(error: unknown): { message: string; cause: unknown } {
    return startFailure(error, this.#errors ?? { last: undefined }, this.#redis);
  }

  describe(): string {
    return describeRedis(this.#redis);
  }

  async close(): Promise<void> {
    const connections = this.#connections;
    if (!connections) return;
    this.#wantsChannel = false;
    const { command, subscriber } = connections;
    command.off('ready', this.#onCommandReady);
    subscriber.off('ready', this.#onSubscriberReady);
    subscriber.off('close', this.#onSubscriberClose);
    if (subscriber.status === 'ready') {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        (this.#sharded ? subscriber.sunsubscribe(this.#channel) : subscriber.unsubscribe()).catch(
          () => undefined,
        ),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, UNSUBSCRIBE_MS);
        }),
      ]);
      clearTimeout(timer);
    }
    // The 'error' listeners stay: a closing socket may still emit one, and unheard it would crash.
    await closeConnections(connections);
  }
}
