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

/**
 * Sleeps `payload.ms`, `factor` times as long on the worker named `payload.slow`,
 * then names the worker that ran it: a fleet with one slow member, from one handler.
 */
export async function paced(payload, ctx) {
  const { ms = 1, slow, factor = 1 } = payload ?? {};
  await delay(ctx.workerId === slow ? ms * factor : ms);
  return ctx.workerId;
}
