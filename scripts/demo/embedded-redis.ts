// The embedded Redis stand-in: ioredis-mock, adapted where ringcast relies on real ioredis.
import type { Redis } from 'ioredis';
import RedisMock from 'ioredis-mock';

interface MockInternals {
  /** ioredis-mock's own connection flag; it has no `status`. */
  connected: boolean;
}

/** Every client made from one `embeddedRedis()` call, duplicates included. */
const families = new WeakMap<Redis, Redis[]>();

/**
 * ringcast takes a client without a `status` as ready, which is enough to run on
 * ioredis-mock; the demo needs more, because it "kills" an in-process worker by cutting
 * its connections. So each mock, and every duplicate of it, gets an ioredis-like status,
 * a connect() (ready is emitted before it resolves, so it is not mistaken for a reconnect
 * later) and a disconnect() that emits 'close', and the offline queue is off so a cut
 * client cannot go on publishing.
 */
function adapt(mock: Redis, family: Redis[]): Redis {
  let ended = false;
  const internals = mock as unknown as MockInternals;
  const duplicate = mock.duplicate.bind(mock);
  const disconnect = mock.disconnect.bind(mock);
  Object.defineProperty(mock, 'status', {
    configurable: true,
    get: () => (ended ? 'end' : internals.connected ? 'ready' : 'wait'),
  });
  Object.assign(mock, {
    duplicate: (...args: Parameters<Redis['duplicate']>) => adapt(duplicate(...args), family),
    async connect() {
      if (internals.connected || ended) throw new Error('Redis is already connecting/connected');
      internals.connected = true;
      mock.emit('connect');
      mock.emit('ready');
    },
    disconnect() {
      if (ended) return;
      ended = true;
      disconnect();
      mock.emit('close');
    },
  });
  family.push(mock);
  return mock;
}

/** A client of the in-process stand-in; every client in the process sees the same data. */
export function embeddedRedis(options: { lazyConnect?: boolean } = {}): Redis {
  const family: Redis[] = [];
  const client = adapt(
    new RedisMock({ host: 'ringcast-demo', lazyConnect: true, enableOfflineQueue: false }),
    family,
  );
  families.set(client, family);
  if (!options.lazyConnect) void client.connect();
  return client;
}

/** Cuts the connections of a client and of every duplicate made from it, as a crash would. */
export function sever(client: Redis): void {
  for (const member of families.get(client) ?? [client]) member.disconnect();
}
