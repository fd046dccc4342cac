import { connectionErrorText } from './connection-error-text.js';
import { describeRedis } from './redact.js';

/**
 * What ringcast needs of a Redis connection: ioredis, or a compatible stand-in
 * such as ioredis-mock. Structural, so this package stays free of run-time
 * dependencies; the packages that open connections bring ioredis.
 */
export interface RedisConnection {
  /** ioredis's connection state; a stand-in without one is taken to be ready. */
  readonly status?: string;
  /** ioredis's socket, while it has one. */
  readonly stream?: unknown;
  connect(): Promise<unknown>;
  quit(): Promise<unknown>;
  disconnect(): void;
  on(event: 'error', listener: (error: Error) => void): unknown;
  once(event: string, listener: () => void): unknown;
  off(event: string, listener: () => void): unknown;
  /** ioredis's options: `db` is the database index the URL or options named. */
  readonly options?: { readonly db?: number };
  select?(db: number): Promise<unknown>;
}

/** A client, as opposed to options for one: duck-typed, so compatible clients work too. */
export function isRedisClient(value: unknown): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { duplicate?: unknown }).duplicate === 'function' &&
    typeof (value as { publish?: unknown }).publish === 'function'
  );
}

/**
 * Connects a lazily created client, or waits for one that is already
 * connecting. A connection error or the end of the connection rejects at once:
 * an application's client retrying an unreachable Redis forever would otherwise
 * hold `start()` forever.
 */
export async function whenReady(client: RedisConnection): Promise<void> {
  await connected(client);
  await confirmDatabase(client);
}

/**
 * Selects the database index the client was given, once more, and waits for the
 * answer. ioredis selects it when it connects but only emits an error when
 * Redis refuses (an index beyond the server's `databases`), and the connection
 * then runs in database 0: ringcast would work in another database than the
 * one named, silently. Here the refusal rejects the start instead.
 */
async function confirmDatabase(client: RedisConnection): Promise<void> {
  const db = client.options?.db;
  if (typeof db === 'number' && db !== 0 && typeof client.select === 'function') {
    await client.select(db);
  }
}

async function connected(client: RedisConnection): Promise<void> {
  if (client.status === 'ready' || client.status === undefined) return;
  if (client.status === 'wait') {
    await client.connect();
    return;
  }
  await new Promise<void>((resolve, reject) => {
    const settle = () => {
      client.off('ready', onReady);
      client.off('end', onEnd);
      client.off('error', onError as () => void);
    };
    const onReady = () => {
      settle();
      resolve();
    };
    const onEnd = () => {
      settle();
      reject(new Error('Redis connection ended before it was ready'));
    };
    const onError = (error: Error) => {
      settle();
      reject(error);
    };
    client.once('ready', onReady);
    client.once('end', onEnd);
    client.on('error', onError);
  });
}

const ignore = (): void => {};
const guarded = new WeakSet<object>();

/**
 * ioredis hears its socket's errors with `once`: a TLS socket ended during its
 * handshake reports the certificate error and then the server's alert, and that
 * second error, unheard, would kill the process. A socket being torn down keeps
 * a listener of its own until it is gone.
 */
function guardSocket(client: RedisConnection): void {
  const stream = client.stream as { on?: unknown } | null | undefined;
  if (typeof stream !== 'object' || stream === null || typeof stream.on !== 'function') return;
  if (guarded.has(stream)) return;
  guarded.add(stream);
  (stream as { on(event: 'error', listener: () => void): unknown }).on('error', ignore);
}

/** Closes a connection politely, or at once if Redis does not answer within a second. */
export async function closeConnection(client: RedisConnection): Promise<void> {
  if (client.status === 'end') return;
  guardSocket(client);
  if (client.status !== 'ready') {
    client.disconnect();
    return;
  }
  const timer = setTimeout(() => client.disconnect(), 1000);
  try {
    await client.quit();
  } catch {
    client.disconnect();
  } finally {
    clearTimeout(timer);
  }
}

/** The two connections each side keeps. */
export interface ConnectionPair<C> {
  /** Commands and publishes. */
  command: C;
  /** Subscriptions only (a connection in subscriber mode can run nothing else). */
  subscriber: C;
  /** Whether `command` was made here, and so is ours to close. */
  ownsCommand: boolean;
}

/** Options every ringcast connection gets: connect on `whenReady`, and wait through reconnects. */
export function connectionDefaults(name: string) {
  return { lazyConnect: true, connectionName: name, maxRetriesPerRequest: null } as const;
}

/**
 * Makes the command and subscriber connections from a URL, client options, or a
 * client the caller owns (never closed here); the subscriber is always a
 * `duplicate()`, with `subscriberOptions` on top. `create` builds a client from a
 * URL or options, so this package needs no Redis library of its own.
 */
export function openConnections<C extends { duplicate(options?: object): C }, O extends object>(
  redis: string | O | C,
  name: string,
  create: (target: string | O, defaults: ReturnType<typeof connectionDefaults>) => C,
  subscriberOptions: object = {},
): ConnectionPair<C> {
  const defaults = connectionDefaults(name);
  if (isRedisClient(redis)) {
    const client = redis as C;
    return {
      command: client,
      subscriber: client.duplicate({ ...defaults, ...subscriberOptions }),
      ownsCommand: false,
    };
  }
  const command = create(redis as string | O, defaults);
  return { command, subscriber: command.duplicate(subscriberOptions), ownsCommand: true };
}

/** Which of a side's two connections an error came from. */
export type ConnectionRole = 'command' | 'subscriber';

/** The errors a pair of connections reported; see {@link watchConnections}. */
export interface ConnectionErrors {
  /** The latest error either connection reported, for the message of a failed start. */
  readonly last: Error | undefined;
}

/**
 * Listens for `'error'` on both connections, for as long as they exist: ioredis
 * throws an `'error'` nobody hears, so the listeners go on before the first
 * connect and are never taken off. Each error goes to `report` and is kept as
 * the latest, since a failed connect only rejects with "Connection is closed."
 * and the reason (a refused connection, a wrong password, an untrusted
 * certificate) came as an event before it.
 */
export function watchConnections(
  pair: ConnectionPair<RedisConnection>,
  report: (error: Error, role: ConnectionRole) => void,
): ConnectionErrors {
  const errors: { last: Error | undefined } = { last: undefined };
  const listen = (role: ConnectionRole) => (error: Error) => {
    errors.last = error;
    try {
      report(error, role);
    } catch {
      // A throwing logger must not turn a connection error into a crash.
    }
  };
  pair.command.on('error', listen('command'));
  pair.subscriber.on('error', listen('subscriber'));
  return errors;
}

/**
 * Connects both connections. It waits for both to succeed or fail before it
 * reports a failure, so that neither is torn down in the middle of its handshake.
 */
export async function connectBoth(pair: ConnectionPair<RedisConnection>): Promise<void> {
  const [command, subscriber] = await Promise.allSettled([
    whenReady(pair.command),
    whenReady(pair.subscriber),
  ]);
  if (command.status === 'rejected') throw command.reason;
  if (subscriber.status === 'rejected') throw subscriber.reason;
}

/** Closes the subscriber, and the command connection if it is ours. */
export async function closeConnections(pair: ConnectionPair<RedisConnection>): Promise<void> {
  await Promise.all([
    closeConnection(pair.subscriber),
    pair.ownsCommand ? closeConnection(pair.command) : undefined,
  ]);
}

/** What a closed connection's commands and connect reject with; it says nothing of why. */
const UNINFORMATIVE = new Set([
  'Connection is closed.',
  'Redis connection ended before it was ready',
  // ioredis's Cluster, whatever kept every startup node from answering as one.
  'None of startup nodes is available',
]);

/**
 * Why a start failed, for its `REDIS_ERROR`: the error it failed with, or the
 * connection error reported before it when that error says only that the
 * connection closed. On one line, redacted, with where the connection was going.
 */
export function startFailure(
  error: unknown,
  errors: ConnectionErrors,
  target: unknown,
): { message: string; cause: unknown } {
  const generic = error instanceof Error && UNINFORMATIVE.has(error.message);
  let cause: unknown = generic && errors.last !== undefined ? errors.last : error;
  // A cluster's "Failed to refresh slots cache." names the last node's own answer
  // (say, a Redis not in cluster mode): that is the reason.
  const lastNodeError = (cause as { lastNodeError?: unknown } | undefined)?.lastNodeError;
  if (lastNodeError instanceof Error) cause = lastNodeError;
  maskCredentials(cause);
  return {
    message: `${connectionErrorText(cause, target)} (redis ${describeRedis(target)})`,
    cause,
  };
}

/** Commands whose arguments carry a password (ioredis's ReplyError keeps them on `command`). */
const CREDENTIAL_COMMANDS = new Set(['auth', 'hello']);

/**
 * Masks the arguments of an AUTH or HELLO an ioredis error names, in place: the
 * error goes to the caller as `error.cause`, and whatever logs it (util.inspect,
 * a logger's error serializer, Node's unhandled-rejection print) would print them.
 */
function maskCredentials(error: unknown): void {
  const command = (error as { command?: { name?: unknown; args?: unknown } } | null)?.command;
  if (command === undefined || command === null || typeof command !== 'object') return;
  const name = typeof command.name === 'string' ? command.name.toLowerCase() : '';
  if (CREDENTIAL_COMMANDS.has(name) && Array.isArray(command.args)) {
    command.args = command.args.map(() => '***');
  }
}
