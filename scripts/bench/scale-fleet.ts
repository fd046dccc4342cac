// A child process of the scale scenario: many lightweight workers in one process. Each is a
// real @ringcast/worker core on the ioredis transport (its own two connections, its own
// heartbeat, registration, claim and stats), except that it beats from the main loop rather
// than from a thread of its own: a thousand threads would cost more than the workers.
// Driven by its parent over IPC (see scale.ts): `start` a batch, `join` one more and report
// when it ran its first task.
import { setTimeout as delay } from 'node:timers/promises';
import { names } from '@ringcast/protocol';
import type { HandlerContext, Worker } from '@ringcast/worker';
import { createWorkerCore, RedisWorkerTransport } from '@ringcast/worker/internal';

export type FleetCommand =
  | { cmd: 'start'; ids: string[] }
  | { cmd: 'join'; id: string }
  | { cmd: 'stop' };

export type FleetEvent =
  | { ev: 'started'; count: number }
  | { ev: 'joined'; id: string; startAt: number; registeredAt: number }
  | { ev: 'first-task'; id: string; at: number }
  | { ev: 'error'; message: string };

// biome-ignore lint/suspicious/noUndeclaredEnvVars: the bench runs outside turbo's task graph.
const url = process.env['SCALE_REDIS_URL'];
// biome-ignore lint/suspicious/noUndeclaredEnvVars: the bench runs outside turbo's task graph.
const namespace = process.env['SCALE_NAMESPACE'];
if (!url || !namespace) throw new Error('SCALE_REDIS_URL and SCALE_NAMESPACE must be set');
// biome-ignore lint/suspicious/noUndeclaredEnvVars: the bench runs outside turbo's task graph.
const concurrency = Number(process.env['SCALE_CONCURRENCY'] ?? '4');
/** Workers started at once: a burst of hundreds of connections at a time gains nothing. */
const START_BATCH = 20;

const send = (event: FleetEvent) => process.send?.(event);
const logger = {
  info() {},
  warn: (message: string) => process.stderr.write(`${message}\n`),
  error: (message: string) => process.stderr.write(`${message}\n`),
};
const workers: Worker[] = [];
/** Ids of joiners that have not run a task yet. */
const waitingFirst = new Set<string>();

/** Sleeps `payload.ms`, then says who ran it and which attempt it was. */
async function work(payload: unknown, ctx: HandlerContext) {
  if (waitingFirst.delete(ctx.workerId)) {
    send({ ev: 'first-task', id: ctx.workerId, at: Date.now() });
  }
  await delay((payload as { ms?: number } | null)?.ms ?? 1);
  return { w: ctx.workerId, a: ctx.attempt };
}

function worker(id: string): Worker {
  const transport = new RedisWorkerTransport(url!, names(namespace), id, undefined, {
    presenceThread: false,
  });
  return createWorkerCore(
    { redis: url!, namespace, id, concurrency, handlers: { work }, logger },
    transport,
  );
}

async function start(ids: string[]): Promise<void> {
  for (let i = 0; i < ids.length; i += START_BATCH) {
    const batch = ids.slice(i, i + START_BATCH).map(worker);
    await Promise.all(batch.map((w) => w.start()));
    workers.push(...batch);
  }
}

process.on('message', (message: FleetCommand) => {
  const run = async () => {
    if (message.cmd === 'start') {
      await start(message.ids);
      send({ ev: 'started', count: workers.length });
    } else if (message.cmd === 'join') {
      const w = worker(message.id);
      waitingFirst.add(message.id);
      const startAt = Date.now();
      await w.start();
      workers.push(w);
      send({ ev: 'joined', id: message.id, startAt, registeredAt: Date.now() });
    } else {
      await Promise.all(workers.map((w) => w.close()));
      process.exit(0);
    }
  };
  run().catch((error: unknown) => send({ ev: 'error', message: String(error) }));
});
process.on('SIGTERM', () => {
  void Promise.all(workers.map((w) => w.close())).finally(() => process.exit(0));
});
