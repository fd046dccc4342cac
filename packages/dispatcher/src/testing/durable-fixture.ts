/**
 * Helpers for durable-task tests on the memory transport, in virtual time: a
 * second dispatcher on the same model, one whose process can be killed or
 * paused, and a worker that holds its tasks until the test finishes them.
 */
import { ProcessClock, type TaskMessage } from '@ringcast/protocol';
import { createDispatcherCore, type Dispatcher } from '../dispatcher.js';
import { MemoryTransport } from '../memory-transport.js';
import type { DispatcherOptions } from '../options.js';
import { NS, outcome, type setup } from './core-fixture.js';

export type Setup = ReturnType<typeof setup>;

/** Advances the virtual clock until `promise` settles (or `maxMs` passed), then returns it. */
export async function run<T>(s: Setup, promise: Promise<T>, maxMs = 20_000): Promise<T> {
  const seen = outcome(promise);
  for (let t = 0; !seen.settled && t < maxMs; t += 10) await s.clock.advance(10);
  return promise;
}

export async function rejection(
  s: Setup,
  promise: Promise<unknown>,
): Promise<{ code: string; message: string }> {
  try {
    await run(s, promise);
  } catch (error) {
    return error as { code: string; message: string };
  }
  throw new Error('expected a rejection');
}

/** A second dispatcher core on the same MemoryRedis. */
export async function second(s: Setup, id = 'd2', options = {}): Promise<Dispatcher> {
  const d = createDispatcherCore(new MemoryTransport(s.redis), coreOptions(id, options));
  await run(s, d.start());
  return d;
}

/** The options of the tests' dispatchers: short timeouts, no log. */
function coreOptions(id: string, options: DispatcherOptions): DispatcherOptions {
  return {
    namespace: NS,
    id,
    logger: false,
    timeoutMs: 5_000,
    ackTimeoutMs: 500,
    reconcileIntervalMs: 200,
    drainTimeoutMs: 1_000,
    ...options,
  };
}

export async function closeOn(s: Setup, d: Dispatcher): Promise<void> {
  await run(s, d.close());
}

/** A worker that acks and leaves the task running: the test finishes it. */
export function holding(s: Setup, id = 'w1', concurrency = 4) {
  const got: TaskMessage[] = [];
  const w = s.worker(
    id,
    (task) => {
      got.push(task);
      return 'ack';
    },
    { concurrency, maxQueue: 0 },
  );
  return { w, got };
}

/** A dispatcher core in a process of its own, which the test can kill (as SIGKILL) or pause (as SIGSTOP). */
export async function inProcess(
  s: Setup,
  id: string,
  options: DispatcherOptions = {},
): Promise<{ d: Dispatcher; process: ProcessClock; kill(): void; pause(ms: number): void }> {
  const process = new ProcessClock(s.clock);
  const transport = new MemoryTransport(s.redis, { clock: process, gate: process });
  const d = createDispatcherCore(transport, coreOptions(id, options));
  await run(s, d.start());
  return {
    d,
    process,
    kill() {
      process.kill();
      // Its sockets close with it: Redis drops its subscriptions, so replies to it are parked.
      transport.command?.close();
      transport.subscriber?.close();
    },
    pause(ms) {
      process.freeze(ms);
    },
  };
}
