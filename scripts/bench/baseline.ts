// The floor: a minimal ioredis pub/sub echo measured with the same closed loop as ringcast.
import { fileURLToPath } from 'node:url';
import { decode, encodeCompactTask, encodeFrame } from '@ringcast/protocol';
import { Redis } from 'ioredis';
import { type Child, spawnChild, tail, waitFor } from './harness.js';
import type { Send } from './loop.js';
import { perTick } from './per-tick.js';

const WORKER = fileURLToPath(new URL('./baseline-worker.ts', import.meta.url));

/**
 * `wire` is not the baseline but the step between it and ringcast: the batched
 * echo speaking ringcast's frames (see baseline-worker.ts).
 */
export type BaselineVariant = 'single' | 'batched' | 'wire';

/** Like a dispatcher's task ids: an 8-character incarnation, then a base-36 counter. */
const WIRE_ID_PREFIX = 'wireBase';
const WIRE_TIMEOUT_MS = 60_000;

export interface BaselineWorkers {
  ids: string[];
  children: Child[];
}

/** Starts the baseline's echo workers as separate processes and waits until each is subscribed. */
export async function startBaselineWorkers(
  url: string,
  prefix: string,
  count: number,
): Promise<BaselineWorkers> {
  const ids = Array.from({ length: count }, (_, k) => `b${k + 1}`);
  const children = ids.map((id) =>
    spawnChild(`baseline-${id}`, process.execPath, [
      '--import',
      'tsx',
      WORKER,
      '--redis',
      url,
      '--prefix',
      prefix,
      '--id',
      id,
    ]),
  );
  await waitFor(
    () => children.every((c) => tail(c.log, 5).includes('ready')),
    20_000,
    'the baseline workers to subscribe',
    children.map((c) => c.died),
  );
  return { ids, children };
}

export interface BaselineClient {
  send: Send;
  close(): Promise<void>;
}

/**
 * The dispatching side of the baseline: round-robin over the workers, a Map from
 * task number to its resolver, JSON both ways. `batched` makes one PUBLISH per
 * worker per tick carrying all of that tick's tasks.
 *
 * `wire` batches the same way but writes what a ringcast dispatcher writes, as it
 * does: each task encoded when it is sent (ringcast takes its payload then), with
 * an id unique across restarts and a deadline, joined into ringcast's frame; and
 * it reads the replies with ringcast's `decode`. It keeps none of ringcast's books:
 * no ledger, deadlines, fencing, retries or limits.
 */
export async function baselineClient(
  url: string,
  prefix: string,
  workerIds: string[],
  variant: BaselineVariant,
  payload: (i: number) => unknown,
): Promise<BaselineClient> {
  const pub = new Redis(url);
  const sub = new Redis(url);
  const channels = workerIds.map((id) => `${prefix}:${variant}:${id}`);
  const pending = new Map<number, (value: unknown) => void>();
  let rr = 0;

  sub.on('message', (_channel: string, data: string) => {
    if (variant === 'wire') {
      const decoded = decode(data);
      if (!decoded.ok) throw decoded.error;
      for (const m of decoded.messages) {
        if (m.kind !== 'result' || !m.ok) continue;
        const i = Number.parseInt(m.id.slice(WIRE_ID_PREFIX.length), 36);
        const resolve = pending.get(i);
        pending.delete(i);
        resolve?.(m.value);
      }
      return;
    }
    const replies = JSON.parse(data) as
      | { i: number; v: unknown }
      | Array<{ i: number; v: unknown }>;
    for (const reply of Array.isArray(replies) ? replies : [replies]) {
      const resolve = pending.get(reply.i);
      pending.delete(reply.i);
      resolve?.(reply.v);
    }
  });
  await sub.subscribe(`${prefix}:reply:${variant}`);

  let send: Send;
  if (variant === 'single') {
    send = (i) =>
      new Promise((resolve) => {
        pending.set(i, resolve);
        const channel = channels[rr++ % channels.length]!;
        void pub.publish(channel, JSON.stringify({ i, p: payload(i) }));
      });
  } else if (variant === 'wire') {
    const sender = { replyTo: 'wire' };
    const later = perTick<string>(pub, channels, (batch) => encodeFrame(batch, sender));
    send = (i) =>
      new Promise((resolve) => {
        pending.set(i, resolve);
        const id = WIRE_ID_PREFIX + i.toString(36);
        const deadline = Date.now() + WIRE_TIMEOUT_MS;
        later(encodeCompactTask(id, 1, 'echo', deadline, JSON.stringify(payload(i))));
      });
  } else {
    const later = perTick<{ i: number; p: unknown }>(pub, channels, JSON.stringify);
    send = (i) =>
      new Promise((resolve) => {
        pending.set(i, resolve);
        later({ i, p: payload(i) });
      });
  }
  return {
    send,
    async close() {
      pending.clear();
      await Promise.allSettled([pub.quit(), sub.quit()]);
    },
  };
}
