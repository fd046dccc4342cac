// A child process of the scale scenario: one dispatcher, public API only, driven by its parent
// over IPC (see scale.ts). It reports its own CPU time, what it sees of the fleet, and the
// outcome of every task it sent while under load.
import { createDispatcher, type Dispatcher, isRingcastError } from '@ringcast/dispatcher';

export type DispatcherRequest =
  | { cmd: 'cpu' }
  | { cmd: 'seen' }
  | { cmd: 'sees'; id: string }
  | { cmd: 'inflight-on'; ids: string[] }
  | { cmd: 'until-gone'; ids: string[]; timeoutMs: number }
  | { cmd: 'load'; perSecond: number; taskMs: number }
  | { cmd: 'unload'; settleMs: number };
export type DispatcherCommand = { rid: number } & DispatcherRequest;

/** What the answers carry, each the fields of its request. */
export interface DispatcherAnswer {
  cpuMs: number;
  at: number;
  count: number;
  sees: boolean;
  inflight: number;
  /** `until-gone`: when each worker left this dispatcher's view (epoch ms). */
  droppedAt: Record<string, number>;
  outcome: LoadOutcome;
  error?: string;
}

export interface LoadOutcome {
  sent: number;
  settled: number;
  unsettled: number;
  errors: Record<string, number>;
  /** Settlement times (epoch ms) of tasks whose successful attempt was not their first. */
  redeliveredAt: number[];
  redelivered: number;
}

// biome-ignore lint/suspicious/noUndeclaredEnvVars: the bench runs outside turbo's task graph.
const url = process.env['SCALE_REDIS_URL'];
// biome-ignore lint/suspicious/noUndeclaredEnvVars: the bench runs outside turbo's task graph.
const namespace = process.env['SCALE_NAMESPACE'];
if (!url || !namespace) throw new Error('SCALE_REDIS_URL and SCALE_NAMESPACE must be set');

const logger = {
  info() {},
  warn: (message: string) => process.stderr.write(`${message}\n`),
  error: (message: string) => process.stderr.write(`${message}\n`),
};
const dispatcher: Dispatcher = createDispatcher({
  redis: url,
  namespace,
  logger,
  timeoutMs: 30_000,
});

const reply = (rid: number, body: Partial<DispatcherAnswer>): void => {
  process.send?.({ rid, ...body });
};

let loadTimer: NodeJS.Timeout | undefined;
let outcome: LoadOutcome = fresh();
const pending = new Set<Promise<unknown>>();

function fresh(): LoadOutcome {
  return { sent: 0, settled: 0, unsettled: 0, errors: {}, redeliveredAt: [], redelivered: 0 };
}

function sendOne(taskMs: number): void {
  outcome.sent++;
  const p = dispatcher.dispatch('work', { ms: taskMs }).then(
    (result) => {
      outcome.settled++;
      if ((result as { a?: number } | null)?.a !== 1) outcome.redeliveredAt.push(Date.now());
    },
    (error: unknown) => {
      outcome.settled++;
      const code = isRingcastError(error) ? error.code : 'OTHER';
      outcome.errors[code] = (outcome.errors[code] ?? 0) + 1;
    },
  );
  pending.add(p);
  void p.finally(() => pending.delete(p));
}

async function handle(message: DispatcherCommand): Promise<void> {
  const { rid } = message;
  switch (message.cmd) {
    case 'cpu': {
      const { user, system } = process.cpuUsage();
      return reply(rid, { cpuMs: (user + system) / 1000, at: performance.now() });
    }
    case 'seen':
      return reply(rid, { count: dispatcher.workers().filter((w) => w.healthy).length });
    case 'sees':
      return reply(rid, { sees: dispatcher.workers().some((w) => w.id === message.id) });
    case 'inflight-on': {
      const ids = new Set(message.ids);
      let inflight = 0;
      for (const w of dispatcher.workers()) if (ids.has(w.id)) inflight += w.inflight;
      return reply(rid, { inflight });
    }
    case 'until-gone': {
      // When each went (epoch ms, polled every 10 ms), and when the last did.
      const left = new Set(message.ids);
      const droppedAt: Record<string, number> = {};
      const until = Date.now() + message.timeoutMs;
      while (Date.now() < until && left.size > 0) {
        const listed = new Set(dispatcher.workers().map((w) => w.id));
        for (const id of left) {
          if (!listed.has(id)) {
            droppedAt[id] = Date.now();
            left.delete(id);
          }
        }
        if (left.size > 0) await new Promise((r) => setTimeout(r, 10));
      }
      return reply(rid, { at: Date.now(), droppedAt });
    }
    case 'load': {
      outcome = fresh();
      // Every 10 ms its share of the rate, the remainder carried so that the rate is exact.
      let owed = 0;
      loadTimer = setInterval(() => {
        owed += message.perSecond / 100;
        for (; owed >= 1; owed--) sendOne(message.taskMs);
      }, 10);
      return reply(rid, {});
    }
    case 'unload': {
      clearInterval(loadTimer);
      const all = Promise.allSettled([...pending]);
      await Promise.race([all, new Promise((r) => setTimeout(r, message.settleMs))]);
      outcome.unsettled = pending.size;
      outcome.redelivered = dispatcher.stats().redelivered;
      return reply(rid, { outcome });
    }
  }
}

process.on('message', (message: DispatcherCommand) => {
  handle(message).catch((error: unknown) => reply(message.rid, { error: String(error) }));
});
process.on('SIGTERM', () => {
  clearInterval(loadTimer);
  void dispatcher.close().finally(() => process.exit(0));
});
await dispatcher.start();
process.send?.({ rid: 0, ready: true });
