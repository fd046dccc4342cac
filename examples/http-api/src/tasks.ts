// The application's tasks: what each handler takes and returns, and the checks that turn
// what a client sent into a payload. The API checks a request before dispatching it; the
// handlers check again, because a worker must not trust whoever published the task.

/** What a client sent does not make a task: the API answers 400 with this message. */
export class InvalidInput extends Error {
  override name = 'InvalidInput';
  readonly code = 'INVALID_INPUT';
}

export interface ThumbnailRequest {
  /** The source image's path, e.g. `photos/2024/beach.jpg`. */
  image: string;
  /** Pixels, 16 to 2048. */
  width: number;
  /** Pixels, 16 to 2048; the width when absent (a square). */
  height: number;
}

export interface Thumbnail {
  image: string;
  width: number;
  height: number;
  format: 'webp';
  bytes: number;
  /** The same for the same image and size, whichever worker rendered it. */
  etag: string;
  worker: string;
  attempt: number;
  /** The handler's own time. */
  ms: number;
}

export interface MailRequest {
  to: string;
  subject: string;
  text?: string;
}

export interface MailReceipt {
  to: string;
  /** Derived from the task id, so a retried or redelivered send keeps its message id. */
  messageId: string;
  worker: string;
  attempt: number;
}

export const REPORT_KINDS = ['sales', 'traffic', 'inventory'] as const;
export type ReportKind = (typeof REPORT_KINDS)[number];

export interface ReportRequest {
  kind: ReportKind;
  /** Days covered, 1 to 90; each costs the handler a few milliseconds. */
  days: number;
}

export interface Report {
  kind: ReportKind;
  days: number;
  total: number;
  average: number;
  /** 0-based day with the highest value. */
  peakDay: number;
  worker: string;
  attempt: number;
}

/** The task map the dispatcher is typed with: handler name → payload and result. */
export type Tasks = {
  'thumbnail.render': { payload: ThumbnailRequest; result: Thumbnail };
  'mail.send': { payload: MailRequest; result: MailReceipt };
  'report.build': { payload: ReportRequest; result: Report };
};

export const MIN_SIDE = 16;
export const MAX_SIDE = 2048;
export const MAX_REPORT_DAYS = 90;
const MAX_SUBJECT = 200;
const MAX_TEXT = 10_000;
const IMAGE_PATH = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$/;
/** Deliberately plain: a local part, an `@`, and a domain of at least two labels. */
const EMAIL = /^[^\s@]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/;

type Fields = Record<string, unknown>;

function object(body: unknown, allowed: readonly string[]): Fields {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new InvalidInput('the body must be a JSON object');
  }
  for (const key of Object.keys(body)) {
    if (!allowed.includes(key)) {
      throw new InvalidInput(`unknown field "${key}" (expected ${allowed.join(', ')})`);
    }
  }
  return body as Fields;
}

function integer(fields: Fields, name: string, min: number, max: number): number {
  const value = fields[name];
  if (!Number.isInteger(value) || (value as number) < min || (value as number) > max) {
    throw new InvalidInput(`"${name}" must be an integer from ${min} to ${max}`);
  }
  return value as number;
}

function text(fields: Fields, name: string, max: number, pattern?: RegExp): string {
  const value = fields[name];
  if (typeof value !== 'string' || value.length === 0 || value.length > max) {
    throw new InvalidInput(`"${name}" must be a string of 1 to ${max} characters`);
  }
  if (pattern && !pattern.test(value)) {
    throw new InvalidInput(`"${name}" is not a valid ${name === 'to' ? 'address' : name}`);
  }
  return value;
}

export function thumbnailRequest(body: unknown): ThumbnailRequest {
  const fields = object(body, ['image', 'width', 'height']);
  const image = text(fields, 'image', 200, IMAGE_PATH);
  const width = integer(fields, 'width', MIN_SIDE, MAX_SIDE);
  const height =
    fields['height'] === undefined ? width : integer(fields, 'height', MIN_SIDE, MAX_SIDE);
  return { image, width, height };
}

export function mailRequest(body: unknown): MailRequest {
  const fields = object(body, ['to', 'subject', 'text']);
  const request: MailRequest = {
    to: text(fields, 'to', 320, EMAIL),
    subject: text(fields, 'subject', MAX_SUBJECT),
  };
  if (fields['text'] !== undefined) request.text = text(fields, 'text', MAX_TEXT);
  return request;
}

export function reportRequest(body: unknown): ReportRequest {
  const fields = object(body, ['kind', 'days']);
  const kind = fields['kind'];
  if (!REPORT_KINDS.includes(kind as ReportKind)) {
    throw new InvalidInput(`"kind" must be one of ${REPORT_KINDS.join(', ')}`);
  }
  return { kind: kind as ReportKind, days: integer(fields, 'days', 1, MAX_REPORT_DAYS) };
}
