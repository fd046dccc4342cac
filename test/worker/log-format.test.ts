// `ringcast-worker --log-format json` against a Redis with a password: every
// line on stdout is one JSON object with level, time, msg and the fields, and
// the password is in no line, message or field.
import { names } from '@ringcast/protocol';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drain } from '../support/operator.js';
import { privateRedisAvailable, uniqueNamespace } from '../support/redis.js';
import { type RedisServer, startRedisServer } from '../support/redis-server.js';
import { track } from '../support/track.js';
import { spawnWorker } from '../support/workers.js';
import { eventually } from './fake-dispatcher.js';

const PASSWORD = 'pw-s3cr3t-7f2a';

describe.skipIf(!privateRedisAvailable)('ringcast-worker --log-format json', () => {
  let server: RedisServer;

  beforeAll(async () => {
    server = await startRedisServer({ args: ['--requirepass', PASSWORD] });
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('writes one JSON object per line, with fields, and never the password', async () => {
    const url = `redis://:${PASSWORD}@127.0.0.1:${server.port}`;
    const namespace = uniqueNamespace();
    const client = track(new Redis(url));
    const worker = await spawnWorker({
      url,
      namespace,
      id: 'json-worker',
      args: ['--log-format', 'json'],
    });
    try {
      // An invalid frame (a warning with a code), then a drain (the operator's line, and the stop).
      await client.publish(names(namespace).workerChannel('json-worker'), '{"v":2,"m":[{}]}');
      await eventually(
        () => worker.output().includes('dropped an invalid message'),
        10_000,
        'the invalid-frame warning',
      );
      expect(await drain(client, namespace, 'json-worker')).toBe(1);
      expect(await worker.exited).toEqual({ code: 0, signal: null });
    } finally {
      await worker.kill();
      await client.quit();
    }

    expect(worker.output()).not.toContain(PASSWORD);
    const lines = worker
      .stdout()
      .split('\n')
      .filter((line) => line.trim() !== '');
    const records = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    for (const record of records) {
      expect(record).toMatchObject({
        level: expect.stringMatching(/^(info|warn|error)$/),
        time: expect.any(String),
        msg: expect.any(String),
        name: 'ringcast-worker',
        worker: 'json-worker',
      });
    }
    const find = (text: string) => records.find((r) => String(r['msg']).includes(text));
    expect(find('started')).toMatchObject({
      level: 'info',
      namespace,
      redis: `127.0.0.1:${server.port}`,
    });
    expect(find('dropped an invalid message')).toMatchObject({
      level: 'warn',
      code: 'INVALID_MESSAGE',
    });
    expect(find('drain requested by an operator')).toMatchObject({
      level: 'info',
      reason: 'drain',
    });
    expect(find('stopped')).toMatchObject({ level: 'info', reason: 'drain' });
  });
});
