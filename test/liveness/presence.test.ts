// The worker's heartbeat thread (issue 13, defect 5): it beats while the main
// event loop is blocked, says so, and stops with the worker without keeping the
// process alive.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { names, parseHeartbeat } from '@ringcast/protocol';
import { createWorker } from '@ringcast/worker';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { redisAvailability, uniqueNamespace, useRedis } from '../support/redis.js';
import { track } from '../support/track.js';
import { eventually } from '../worker/fake-dispatcher.js';

const WORKER_DIST = fileURLToPath(new URL('../../packages/worker/dist/index.js', import.meta.url));

function presenceClients(list: string, id: string): number {
  return list.split('\n').filter((line) => line.includes(`name=ringcast-worker-presence:${id} `))
    .length;
}

describe.skipIf(!redisAvailability.available)('the heartbeat thread', () => {
  const redis = useRedis();

  it('keeps the heartbeat alive while the main loop is blocked, and says it is', async () => {
    const namespace = uniqueNamespace();
    const n = names(namespace);
    const raw = track(new Redis(redis.url));
    const worker = track(
      createWorker({
        redis: redis.url,
        namespace,
        id: 'blocked',
        handlers: { echo: (p) => p },
        logger: false,
        heartbeatIntervalMs: 50,
        heartbeatTtlMs: 300,
      }),
    );
    await worker.start();
    expect(presenceClients((await raw.client('LIST')) as string, 'blocked')).toBe(1);

    // This process's own loop (the worker's main loop) blocks for more than 3 TTLs.
    const until = Date.now() + 1_000;
    while (Date.now() < until) {
      // spin
    }
    const beat = parseHeartbeat(await raw.get(n.heartbeatKey('blocked')));
    expect(beat?.incarnation).toBe(worker.info().incarnation);
    // Read at once after the block: the last beat saw the loop blocked, or its stall just ended.
    expect(Math.max(beat!.blockedMs, beat!.stalledMs)).toBeGreaterThanOrEqual(800);
    // And once the loop turns again, the beat goes back to the bare incarnation.
    await eventually(
      async () => (await raw.get(n.heartbeatKey('blocked'))) === worker.info().incarnation,
      5_000,
      'a plain heartbeat',
    );
    await worker.close();
    expect(await raw.exists(n.heartbeatKey('blocked'), n.registryKey)).toBe(0);
    expect(presenceClients((await raw.client('LIST')) as string, 'blocked')).toBe(0);
    await raw.quit();
  });

  it('stops with the worker: a process that closes its worker exits by itself', async () => {
    const namespace = uniqueNamespace();
    const n = names(namespace);
    const script = `
      const { createWorker } = await import(${JSON.stringify(WORKER_DIST)});
      const worker = createWorker({
        redis: ${JSON.stringify(redis.url)}, namespace: ${JSON.stringify(namespace)}, id: 'exits',
        handlers: { echo: (p) => p }, logger: false, heartbeatIntervalMs: 50, heartbeatTtlMs: 300,
      });
      await worker.start();
      process.stdout.write('started\\n');
      await worker.close();
      process.stdout.write('closed\\n');
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const code = await Promise.race([
      exited,
      new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 15_000)),
    ]);
    if (code === 'hung') child.kill('SIGKILL');
    expect({ code, out }).toEqual({ code: 0, out: 'started\nclosed\n' });
    const raw = track(new Redis(redis.url));
    expect(await raw.exists(n.heartbeatKey('exits'))).toBe(0);
    await raw.quit();
  });
});
