/**
 * An operator's requests on the memory transport: reweight frames and the
 * weight policy hash (read at start and with every beat), drain frames, and
 * how the worker's life ends (`worker.closed`).
 */
import { ErrorCode, type Message, PROTOCOL_VERSION } from '@ringcast/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryWorkerTransport } from './memory-transport.js';
import {
  expectWorkersIdle,
  ID,
  manual,
  n,
  type SetupOptions,
  setup,
} from './testing/core-fixture.js';

afterEach(expectWorkersIdle);

const INTERVAL = 1_000;

/** A pino-shaped logger (child, bindings) that keeps its `(fields, message)` calls. */
function structuredLogger() {
  const lines: Array<{ level: string; fields: Record<string, unknown>; message: string }> = [];
  // Typed as pino's methods are: they take a message alone too.
  const at =
    (level: string) =>
    (...args: unknown[]): void => {
      const [fields, message] = args as [Record<string, unknown>, string];
      lines.push({ level, fields, message });
    };
  const logger = {
    child: () => logger,
    bindings: () => ({}),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
  };
  return { lines, logger };
}

async function running(options: SetupOptions = {}) {
  const slow = manual();
  const t = await setup(
    { job: (p) => p, slow: slow.handler },
    { weight: 4, heartbeatIntervalMs: INTERVAL, ...options },
  );
  return { ...t, slow };
}

type Fixture = Awaited<ReturnType<typeof running>>;

/** A worker started with `value` in the weight policy for its id, and the lines it logged. */
async function startedWithPolicy(value: string) {
  const { lines, logger } = structuredLogger();
  const t = await running({ logger });
  t.redis.hset(n.weightsKey, ID, value);
  await t.settle(t.worker.start());
  return { t, lines };
}

/** The weight in the worker's registry entry. */
function registered(t: Fixture): number | undefined {
  const entry = t.redis.hget(n.registryKey, ID);
  return entry === null ? undefined : (JSON.parse(entry) as { weight: number }).weight;
}

/** The weights of the hellos the worker said, in order. */
function hellos(t: Fixture): number[] {
  return t.control.flatMap((m: Message) => (m.kind === 'hello' ? [m.worker.weight] : []));
}

/** What `ringcast reweight <id> <weight>` does: the policy first, then the frame. */
async function reweight(t: Fixture, weight: number, incarnation?: string): Promise<void> {
  t.redis.hset(n.weightsKey, ID, String(weight));
  await t.send({ kind: 'reweight', id: ID, weight, ...(incarnation ? { incarnation } : {}) });
}

async function publishRaw(t: Fixture, ...messages: unknown[]): Promise<void> {
  const frame = JSON.stringify({ v: PROTOCOL_VERSION, m: messages });
  await t.settle(t.peer.publish(n.workerChannel(ID), frame));
  await t.clock.advance(1);
}

describe('reweight', () => {
  it('takes a reweight at once: registry entry, hello, stats; the weight survives the heartbeats after', async () => {
    const t = await running();
    await t.settle(t.worker.start());
    expect(t.worker.stats()).toMatchObject({
      weight: 4,
      configuredWeight: 4,
      weightFromPolicy: false,
    });
    await reweight(t, 9);
    expect(registered(t)).toBe(9);
    expect(hellos(t)).toEqual([4, 9]);
    // The start's hello is a plain one; the reweight's says that only the weight changed.
    expect(t.control.flatMap((m: Message) => (m.kind === 'hello' ? [m.reweight] : []))).toEqual([
      undefined,
      true,
    ]);
    expect(t.worker.info().weight).toBe(9);
    expect(t.worker.stats()).toMatchObject({
      weight: 9,
      configuredWeight: 4,
      weightFromPolicy: true,
    });
    await t.clock.advance(5 * INTERVAL);
    expect(registered(t)).toBe(9);
    expect(hellos(t)).toEqual([4, 9]);
    await t.settle(t.worker.close());
  });

  it('starts with the weight the policy holds for its id, and says so once', async () => {
    const { t, lines } = await startedWithPolicy('7');
    await t.clock.advance(1);
    expect(registered(t)).toBe(7);
    expect(hellos(t)).toEqual([7]);
    expect(t.worker.stats()).toMatchObject({ weight: 7, weightFromPolicy: true });
    const said = lines.filter((l) => l.message.includes("from the operator's weight policy"));
    expect(said).toEqual([
      {
        level: 'info',
        fields: { worker: ID, weight: 7, configuredWeight: 4, source: 'policy' },
        message: `worker ${ID}: starts with weight 7 from the operator's weight policy (configured weight 4)`,
      },
    ]);
    await t.settle(t.worker.close());
  });

  it('goes back to its configured weight within a heartbeat of the policy entry being deleted', async () => {
    const t = await running();
    await t.settle(t.worker.start());
    await reweight(t, 9);
    t.redis.hdel(n.weightsKey, [ID]);
    await t.clock.advance(INTERVAL + 1);
    expect(registered(t)).toBe(4);
    expect(hellos(t)).toEqual([4, 9, 4]);
    expect(t.worker.stats()).toMatchObject({ weight: 4, weightFromPolicy: false });
    await t.settle(t.worker.close());
  });

  it('catches up within a heartbeat with a policy whose frame it missed', async () => {
    const t = await running();
    await t.settle(t.worker.start());
    t.redis.hset(n.weightsKey, ID, '12');
    await t.clock.advance(INTERVAL + 1);
    expect(registered(t)).toBe(12);
    expect(hellos(t)).toEqual([4, 12]);
    await t.settle(t.worker.close());
  });

  it('undoes a frame the policy does not back with the policy read its new entry brings: the policy is the record', async () => {
    const t = await running();
    await t.settle(t.worker.start());
    await t.send({ kind: 'reweight', id: ID, weight: 6 });
    await t.clock.advance(1);
    expect(hellos(t)).toEqual([4, 6, 4]);
    expect(registered(t)).toBe(4);
    expect(t.worker.stats()).toMatchObject({ weight: 4, weightFromPolicy: false });
    await t.settle(t.worker.close());
  });

  it("takes a reweight for its own incarnation, ignores one for another process's", async () => {
    const t = await running();
    await t.settle(t.worker.start());
    await t.send({ kind: 'reweight', id: ID, weight: 3, incarnation: 'an-earlier-process' });
    expect(registered(t)).toBe(4);
    expect(hellos(t)).toEqual([4]);
    expect(t.worker.stats().invalid).toBe(0);
    await reweight(t, 5, t.worker.info().incarnation);
    expect(registered(t)).toBe(5);
    await t.settle(t.worker.close());
  });

  it('counts as invalid a reweight out of range or for another id, and changes nothing', async () => {
    const t = await running();
    await t.settle(t.worker.start());
    await publishRaw(
      t,
      { kind: 'reweight', id: ID, weight: 0 },
      { kind: 'reweight', id: ID, weight: 1.5 },
      { kind: 'reweight', id: ID, weight: 1_000_001 },
    );
    await t.send({ kind: 'reweight', id: 'someone-else', weight: 8 });
    expect(t.worker.stats()).toMatchObject({ invalid: 4, weight: 4, weightFromPolicy: false });
    expect(registered(t)).toBe(4);
    expect(hellos(t)).toEqual([4]);
    await t.settle(t.worker.close());
  });

  it('ignores a policy entry that is not a weight, with a rate-limited warning, keeping its configured weight', async () => {
    const { t, lines } = await startedWithPolicy('heavy');
    await t.clock.advance(5 * INTERVAL);
    expect(registered(t)).toBe(4);
    expect(t.worker.stats()).toMatchObject({ weight: 4, weightFromPolicy: false });
    const warnings = lines.filter((l) => l.message.includes('weight policy entry'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({
      level: 'warn',
      fields: { worker: ID, configuredWeight: 4 },
    });
    expect(warnings[0]?.message).toContain('"heavy"');
    await t.settle(t.worker.close());
  });

  it('takes no weight once closing: a re-registration would undo its leave', async () => {
    const t = await running({ drainTimeoutMs: 5_000 });
    await t.settle(t.worker.start());
    await t.send(t.task({ handler: 'slow' }));
    const closing = t.worker.close();
    await t.clock.advance(1);
    await reweight(t, 9);
    t.slow.runs[0]!.resolve('done');
    await t.settle(closing);
    expect(t.redis.hget(n.registryKey, ID)).toBeNull();
    expect(hellos(t)).toEqual([4]);
  });
});

describe('drain', () => {
  it('closes exactly as close() does, says why, and a second drain changes nothing', async () => {
    const { lines, logger } = structuredLogger();
    const t = await running({ logger, concurrency: 1, maxQueue: 1 });
    await t.settle(t.worker.start());
    const run = t.task({ handler: 'slow' });
    const queued = t.task({ handler: 'slow' });
    await t.send(run, queued);
    await t.send({ kind: 'drain', id: ID });
    await t.send({ kind: 'drain', id: ID });
    // As close(): the queued attempt refused before the leave, the running one finishes.
    expect(t.replies.map((m) => `${m.kind}:${'id' in m ? m.id : ''}`)).toEqual([
      `ack:${run.id}`,
      `ack:${queued.id}`,
      `nack:${queued.id}`,
    ]);
    expect(t.control.map((m) => m.kind)).toEqual(['hello', 'leave']);
    t.slow.runs[0]!.resolve('done');
    expect(await t.settle(t.worker.closed)).toEqual({ reason: 'drain' });
    expect(t.replies.at(-1)).toMatchObject({ kind: 'result', id: run.id, ok: true, value: 'done' });
    expect(t.slow.runs).toHaveLength(1);
    expect(t.redis.hget(n.registryKey, ID)).toBeNull();
    const drains = lines.filter((l) => l.message.includes('drain requested by an operator'));
    expect(drains).toEqual([
      {
        level: 'info',
        fields: { worker: ID, reason: 'drain' },
        message: `worker ${ID}: drain requested by an operator; closing gracefully`,
      },
    ]);
    expect(lines.at(-1)).toMatchObject({ fields: { worker: ID, reason: 'drain' } });
  });

  it("ignores a drain for another process's incarnation", async () => {
    const t = await running();
    await t.settle(t.worker.start());
    await t.send({ kind: 'drain', id: ID, incarnation: 'an-earlier-process' });
    await t.clock.advance(5 * INTERVAL);
    expect(t.redis.hget(n.registryKey, ID)).not.toBeNull();
    expect(t.control.map((m) => m.kind)).toEqual(['hello']);
    await t.send({ kind: 'drain', id: ID, incarnation: t.worker.info().incarnation });
    expect(await t.settle(t.worker.closed)).toEqual({ reason: 'drain' });
  });
});

describe('worker.closed', () => {
  it('resolves with close after close(), also when close() was called before start', async () => {
    const t = await running();
    await t.settle(t.worker.start());
    await t.settle(t.worker.close());
    expect(await t.worker.closed).toEqual({ reason: 'close' });

    const idle = await running();
    await idle.settle(idle.worker.close());
    expect(await idle.worker.closed).toEqual({ reason: 'close' });
  });

  it('resolves with start-failed and the error start() rejected with', async () => {
    const first = await running();
    await first.settle(first.worker.start());
    // Same id, same Redis: the second process is refused.
    const second = await setup(
      { job: () => 1 },
      {
        transport: () => new MemoryWorkerTransport(first.redis, n, ID),
      },
    );
    const started = second.worker.start();
    started.catch(() => undefined);
    await first.settle(started.catch(() => undefined));
    const closed = await second.worker.closed;
    expect(closed.reason).toBe('start-failed');
    expect(closed.error).toMatchObject({ code: ErrorCode.DUPLICATE_WORKER });
    await expect(started).rejects.toBe(closed.error);
    await first.settle(first.worker.close());
  });

  it('says what a failed close threw, and never rejects', async () => {
    const failure = new Error('the socket would not close');
    const t = await running({
      transport: (redis) => {
        const transport = new MemoryWorkerTransport(redis, n, ID);
        transport.close = () => Promise.reject(failure);
        return transport;
      },
    });
    await t.settle(t.worker.start());
    await t.send({ kind: 'drain', id: ID });
    expect(await t.settle(t.worker.closed)).toEqual({ reason: 'drain', error: failure });
    await expect(t.worker.close()).rejects.toBe(failure);
  });
});

describe('log fields', () => {
  it('an invalid frame is logged with the worker and the code', async () => {
    const { lines, logger } = structuredLogger();
    const t = await running({ logger });
    await t.settle(t.worker.start());
    await publishRaw(t, { kind: 'task', id: 'x' });
    const invalid = lines.find((l) => l.message.includes('dropped an invalid message'));
    expect(invalid).toMatchObject({
      level: 'warn',
      fields: { worker: ID, code: ErrorCode.INVALID_MESSAGE },
    });
    await t.settle(t.worker.close());
  });
});
