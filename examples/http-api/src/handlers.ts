// The handlers the example's workers run, loaded by path:
//   ringcast-worker --handlers examples/http-api/dist/handlers.js
// The worker takes every exported function for a handler, so this module exports one
// object and nothing else; its keys are the handler names.
//
// Each stands in for real work with a mix of CPU and waiting, derived from its input so
// that the same request takes the same time and gives the same answer on any worker.
import { createHash } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { Handler, HandlerContext } from '@ringcast/worker';
import {
  type MailReceipt,
  mailRequest,
  type Report,
  reportRequest,
  type Thumbnail,
  thumbnailRequest,
} from './tasks.js';

/** Pixels one sha256 round stands for: resizing costs CPU in proportion to the pixels. */
const PIXELS_PER_ROUND = 4096;
/** Recipients here defer the first delivery attempt (SMTP 451), as greylisting servers do. */
const GREYLISTING_DOMAIN = 'greylist.example';
/** `.invalid` is reserved (RFC 2606): no mailbox there exists, so delivery fails for good. */
const UNDELIVERABLE_TLD = '.invalid';

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** A whole number from `min` to `max`, always the same for the same `seed`. */
function spread(seed: string, min: number, max: number): number {
  return min + (Number.parseInt(sha256(seed).slice(0, 8), 16) % (max - min + 1));
}

/** A failure with a code the API passes on, and whether the dispatcher should retry it. */
class DeliveryError extends Error {
  override name = 'DeliveryError';
  constructor(
    readonly code: string,
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

async function renderThumbnail(payload: unknown, ctx: HandlerContext): Promise<Thumbnail> {
  const started = performance.now();
  const { image, width, height } = thumbnailRequest(payload);
  // Fetching the source: 2 to 20 ms, depending on the image.
  await delay(spread(image, 2, 20), undefined, { signal: ctx.signal });
  let digest = `${image}:${width}x${height}`;
  const rounds = Math.ceil((width * height) / PIXELS_PER_ROUND);
  for (let i = 0; i < rounds; i++) digest = sha256(digest);
  return {
    image,
    width,
    height,
    format: 'webp',
    bytes: Math.round(width * height * 0.12) + spread(digest, 0, 999),
    etag: digest.slice(0, 16),
    worker: ctx.workerId,
    attempt: ctx.attempt,
    ms: Math.round((performance.now() - started) * 100) / 100,
  };
}

async function sendMail(payload: unknown, ctx: HandlerContext): Promise<MailReceipt> {
  const { to } = mailRequest(payload);
  const domain = to.slice(to.lastIndexOf('@') + 1).toLowerCase();
  // The SMTP conversation: 5 to 15 ms, depending on the recipient.
  await delay(spread(to, 5, 15), undefined, { signal: ctx.signal });
  if (domain.endsWith(UNDELIVERABLE_TLD)) {
    throw new DeliveryError('MAILBOX_UNAVAILABLE', '550 mailbox unavailable', false);
  }
  if (domain === GREYLISTING_DOMAIN && ctx.attempt === 1) {
    throw new DeliveryError('GREYLISTED', '451 greylisted, try again later', true);
  }
  return {
    to,
    // The task id is the idempotency key: however often the task runs, one message id.
    messageId: `<${sha256(ctx.taskId).slice(0, 24)}@mail.ringcast.example>`,
    worker: ctx.workerId,
    attempt: ctx.attempt,
  };
}

async function buildReport(payload: unknown, ctx: HandlerContext): Promise<Report> {
  const { kind, days } = reportRequest(payload);
  // Querying the data: 40 ms, plus 2 ms a day.
  await delay(40 + 2 * days, undefined, { signal: ctx.signal });
  let total = 0;
  let peakDay = 0;
  let peak = -1;
  for (let day = 0; day < days; day++) {
    const value = spread(`${kind}/${day}`, 100, 1000);
    total += value;
    if (value > peak) {
      peak = value;
      peakDay = day;
    }
  }
  return {
    kind,
    days,
    total,
    average: Math.round(total / days),
    peakDay,
    worker: ctx.workerId,
    attempt: ctx.attempt,
  };
}

const handlers: Record<string, Handler> = {
  'thumbnail.render': renderThumbnail,
  'mail.send': sendMail,
  'report.build': buildReport,
};

export default handlers;
