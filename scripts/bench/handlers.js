// Handlers the bench's ringcast workers run.
import { setTimeout as delay } from 'node:timers/promises';

/** Returns its payload. */
export function echo(payload) {
  return payload;
}

/** Sleeps `payload.ms`, then names the worker that ran it, so shares can be counted from results. */
export async function sleep(payload, ctx) {
  await delay(payload?.ms ?? 1);
  return ctx.workerId;
}
