// The durable store contract on the in-memory model, in virtual time.
import { MemoryRedis, names, VirtualClock } from '@ringcast/protocol';
import { describeStoreContract, type StoreHarness } from '../testing/durable-store-contract.js';
import { MemoryStore } from './memory-store.js';
import type { DurableStore } from './store.js';

/**
 * The store with the clock turned for it: a command of the model is applied
 * and answered only when virtual time moves, so each call turns the clock
 * until its promise settles (claim and adopt may send a second command).
 */
function driven(store: DurableStore, clock: VirtualClock): DurableStore {
  return new Proxy(store, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        let done = false;
        const reply = (async () => value.apply(target, args))();
        // Watched at once, so a rejection is handled while the clock turns.
        const finished = () => {
          done = true;
        };
        reply.then(finished, finished);
        while (!done) await clock.advance(0);
        return reply;
      };
    },
  });
}

async function open(): Promise<StoreHarness> {
  const clock = new VirtualClock();
  const redis = new MemoryRedis(clock);
  const n = names('unit-durable');
  const connections = [redis.connect('raw')];
  const mine = (key: string) => key.startsWith(`${n.namespace}:`);
  return {
    names: n,
    store(announce) {
      const connection = redis.connect(`store-${connections.length}`);
      connections.push(connection);
      return driven(new MemoryStore(connection, n, clock, announce), clock);
    },
    now: () => clock.now(),
    keys: async () => redis.keys().filter(mine),
    pttl: async (key) => redis.pttl(key),
    hset: async (key, fields) => redis.hmset(key, fields),
    zadd: async (key, score, member) => {
      redis.zadd(key, [[score, member]]);
    },
    smembers: async (key) => redis.smembers(key),
    sadd: async (key, members) => {
      redis.sadd(key, members);
    },
    zscore: async (key, member) => redis.zscore(key, member),
    async listen(channel) {
      const connection = redis.connect('listener');
      connections.push(connection);
      const messages: string[] = [];
      connection.onMessage((_channel, message) => messages.push(message));
      const subscribed = connection.subscribe([channel]);
      await clock.advance(0);
      await subscribed;
      return {
        messages,
        close: async () => connection.close(),
      };
    },
    async until(check, what, maxMs = 10_000) {
      const deadline = clock.now() + maxMs;
      while (!(await check())) {
        if (clock.now() >= deadline) throw new Error(`${what}: not within ${maxMs} virtual ms`);
        await clock.advance(10);
      }
    },
    async close() {
      for (const connection of connections) connection.close();
    },
  };
}

describeStoreContract('memory', open);
