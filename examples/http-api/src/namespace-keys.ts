// Removing a namespace's keys from a Redis the example was lent: the reports it stored,
// and whatever a worker that died without a word left in the registry.
import { Redis } from 'ioredis';

const SCAN_COUNT = 500;

/** Deletes every key under `namespace` (ringcast names every key `<namespace>:…`); the count. */
export async function deleteNamespace(redisUrl: string, namespace: string): Promise<number> {
  const client = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  client.on('error', () => {}); // the calls below reject with it
  try {
    await client.connect();
    let deleted = 0;
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(
        cursor,
        'MATCH',
        `${namespace}:*`,
        'COUNT',
        SCAN_COUNT,
      );
      if (keys.length > 0) deleted += await client.del(...keys);
      cursor = next;
    } while (cursor !== '0');
    return deleted;
  } finally {
    client.disconnect();
  }
}
