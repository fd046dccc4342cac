// The load script's engine: sends the request mix at a steady rate, with a cap on how many
// wait at once, for a while; then waits for every report it submitted to finish, and counts
// how each request ended.
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { STATUS_BY_CODE, TRANSIENT_CODES } from './http-status.js';
import { type Intent, nextRequest, type PlannedRequest, reportStatus } from './load-mix.js';

export interface LoadOptions {
  /** `http://host:port` of the API. */
  apiUrl: string;
  durationMs: number;
  /** Requests started per second. @defaultValue 100 */
  rate?: number;
  /** Most requests waiting at once; a request due while they all wait is skipped. @defaultValue 32 */
  concurrency?: number;
  /** How long to wait, after the load, for the reports submitted to finish. @defaultValue 20_000 */
  reportWaitMs?: number;
  /** Stops sending; the requests under way still finish. */
  signal?: AbortSignal;
  /** @defaultValue Math.random */
  random?: () => number;
}

/**
 * How a request ended: as intended (`ok`, or `intended` for one meant to fail); with a
 * documented error that says "try again" (`transient`: 503 or 504 with its ringcast code);
 * or any other way (`unexpected`: a wrong status, a body that is not the API's, no answer).
 */
export type Outcome = 'ok' | 'intended' | 'transient' | 'unexpected';

export interface RouteSummary {
  route: string;
  requests: number;
  /** Status → requests; `0` for requests that got no answer. */
  statuses: Record<number, number>;
  p50Ms: number;
  p99Ms: number;
}

export interface LoadSummary {
  durationMs: number;
  sent: number;
  /** Due while `concurrency` requests were waiting, so not sent. */
  skipped: number;
  outcomes: Record<Outcome, number>;
  /** Requests meant to fail, by why. */
  intended: Partial<Record<Intent, number>>;
  /** Transient errors by their ringcast code. */
  transient: Record<string, number>;
  /** A few of the unexpected outcomes, described. */
  unexpected: string[];
  /** Tasks run to an answer (thumbnails, mail), by the worker the answer names. */
  servedBy: Record<string, number>;
  routes: RouteSummary[];
  p50Ms: number;
  p99Ms: number;
  reports: { submitted: number; succeeded: number; failed: number; unfinished: number };
}

export const DEFAULT_RATE = 100;
export const DEFAULT_CONCURRENCY = 32;
const DEFAULT_REPORT_WAIT_MS = 20_000;
const REQUEST_TIMEOUT_MS = 30_000;
const TICK_MS = 5;
const REPORT_POLL_MS = 100;
const UNEXPECTED_SAMPLES = 5;
const TERMINAL_STATES = new Set(['succeeded', 'failed', 'cancelled']);
/** The summary's rows, in the order a reader meets the API. */
const ROUTE_ORDER = ['POST /thumbnails', 'POST /mail', 'POST /reports', 'GET /reports/:id'];

interface Answer {
  status: number;
  body: unknown;
  /** Why there was no answer. */
  failure?: string;
}

async function send(apiUrl: string, request: PlannedRequest): Promise<Answer> {
  try {
    const res = await fetch(`${apiUrl}${request.path}`, {
      method: request.method,
      headers: request.body === undefined ? {} : { 'content-type': 'application/json' },
      body: request.body ?? null,
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const text = await res.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    return { status: res.status, body };
  } catch (error) {
    return {
      status: 0,
      body: undefined,
      failure: error instanceof Error ? error.message : String(error),
    };
  }
}

function errorCode(body: unknown): string | undefined {
  const error = (body as { error?: { code?: unknown } } | undefined)?.error;
  return typeof error?.code === 'string' ? error.code : undefined;
}

/** How a request that got `answer` ended; see {@link Outcome}. */
export function classify(request: PlannedRequest, answer: Answer): Outcome {
  if (request.expect.includes(answer.status) && answer.body !== undefined) {
    return request.intent === 'ok' ? 'ok' : 'intended';
  }
  const code = errorCode(answer.body);
  if (code !== undefined && TRANSIENT_CODES.has(code)) {
    return STATUS_BY_CODE[code as keyof typeof STATUS_BY_CODE] === answer.status
      ? 'transient'
      : 'unexpected';
  }
  return 'unexpected';
}

function describe(request: PlannedRequest, answer: Answer): string {
  const what = `${request.method} ${request.path}`;
  if (answer.failure) return `${what}: no answer (${answer.failure})`;
  const code = errorCode(answer.body);
  return `${what}: ${answer.status}${code ? ` ${code}` : ''}, expected ${request.expect.join(' or ')}`;
}

function percentileMs(histogram: RecordableHistogram, p: number): number {
  return histogram.count === 0 ? Number.NaN : histogram.percentile(p) / 1000;
}

class Tally {
  readonly outcomes: Record<Outcome, number> = { ok: 0, intended: 0, transient: 0, unexpected: 0 };
  readonly intended: Partial<Record<Intent, number>> = {};
  readonly transient: Record<string, number> = {};
  readonly unexpected: string[] = [];
  readonly servedBy: Record<string, number> = {};
  readonly reportIds: string[] = [];
  readonly #all = createHistogram();
  readonly #routes = new Map<
    string,
    { statuses: Record<number, number>; latency: RecordableHistogram }
  >();

  record(request: PlannedRequest, answer: Answer, micros: number): void {
    const outcome = classify(request, answer);
    this.outcomes[outcome]++;
    if (outcome === 'intended')
      this.intended[request.intent] = (this.intended[request.intent] ?? 0) + 1;
    if (outcome === 'transient') {
      const code = errorCode(answer.body)!;
      this.transient[code] = (this.transient[code] ?? 0) + 1;
    }
    if (outcome === 'unexpected' && this.unexpected.length < UNEXPECTED_SAMPLES) {
      this.unexpected.push(describe(request, answer));
    }
    const { id, worker } = (answer.body ?? {}) as { id?: unknown; worker?: unknown };
    // A POST answered with a result names who ran it; a report's record (GET) is read often.
    if (outcome === 'ok' && request.method === 'POST' && typeof worker === 'string') {
      this.servedBy[worker] = (this.servedBy[worker] ?? 0) + 1;
    }
    if (request.route === 'POST /reports' && answer.status === 202 && typeof id === 'string') {
      this.reportIds.push(id);
    }
    let route = this.#routes.get(request.route);
    if (!route) {
      route = { statuses: {}, latency: createHistogram() };
      this.#routes.set(request.route, route);
    }
    route.statuses[answer.status] = (route.statuses[answer.status] ?? 0) + 1;
    const sample = Math.max(1, Math.round(micros));
    route.latency.record(sample);
    this.#all.record(sample);
  }

  routes(): RouteSummary[] {
    const order = (route: string) => ROUTE_ORDER.indexOf(route) + 1 || ROUTE_ORDER.length + 1;
    const routes = [...this.#routes].sort(([a], [b]) => order(a) - order(b));
    return routes.map(([route, { statuses, latency }]) => ({
      route,
      requests: latency.count,
      statuses,
      p50Ms: percentileMs(latency, 50),
      p99Ms: percentileMs(latency, 99),
    }));
  }

  percentileMs(p: number): number {
    return percentileMs(this.#all, p);
  }
}

/** Polls the reports until each has finished or `waitMs` has passed. */
async function awaitReports(apiUrl: string, ids: readonly string[], waitMs: number) {
  const states = new Map<string, string>();
  let pending = [...ids];
  const until = Date.now() + waitMs;
  while (pending.length > 0 && Date.now() < until) {
    const looks = await Promise.all(
      pending.map(async (id) => {
        const { body } = await send(apiUrl, reportStatus(id));
        return [id, (body as { state?: unknown } | undefined)?.state] as const;
      }),
    );
    for (const [id, state] of looks) if (typeof state === 'string') states.set(id, state);
    pending = pending.filter((id) => !TERMINAL_STATES.has(states.get(id) ?? ''));
    if (pending.length > 0) await delay(REPORT_POLL_MS);
  }
  const succeeded = ids.filter((id) => states.get(id) === 'succeeded').length;
  return {
    submitted: ids.length,
    succeeded,
    failed: ids.length - succeeded - pending.length,
    unfinished: pending.length,
  };
}

export async function runLoad(options: LoadOptions): Promise<LoadSummary> {
  const rate = options.rate ?? DEFAULT_RATE;
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  const random = options.random ?? Math.random;
  const tally = new Tally();
  const started = performance.now();
  let due = 0;
  let sent = 0;
  let skipped = 0;
  let waiting = 0;

  const fire = async () => {
    const request = nextRequest(random, tally.reportIds);
    const t0 = performance.now();
    const answer = await send(options.apiUrl, request);
    tally.record(request, answer, (performance.now() - t0) * 1000);
  };

  await new Promise<void>((resolve) => {
    let sending = true;
    const tick = () => {
      const elapsed = performance.now() - started;
      if (elapsed >= options.durationMs || options.signal?.aborted) {
        sending = false;
        clearInterval(timer);
        if (waiting === 0) resolve();
        return;
      }
      const target = Math.floor((elapsed / 1000) * rate) + 1;
      for (; due < target; due++) {
        if (waiting >= concurrency) {
          skipped++;
          continue;
        }
        sent++;
        waiting++;
        void fire().finally(() => {
          waiting--;
          if (!sending && waiting === 0) resolve();
        });
      }
    };
    const timer = setInterval(tick, TICK_MS);
    tick();
  });
  const durationMs = performance.now() - started;

  const reports = await awaitReports(
    options.apiUrl,
    tally.reportIds,
    options.signal?.aborted ? 0 : (options.reportWaitMs ?? DEFAULT_REPORT_WAIT_MS),
  );
  return {
    durationMs,
    sent,
    skipped,
    outcomes: tally.outcomes,
    intended: tally.intended,
    transient: tally.transient,
    unexpected: tally.unexpected,
    servedBy: tally.servedBy,
    routes: tally.routes(),
    p50Ms: tally.percentileMs(50),
    p99Ms: tally.percentileMs(99),
    reports,
  };
}

/** A run the example calls a success: everything as intended, every report built. */
export function passed(summary: LoadSummary): boolean {
  const { outcomes, reports } = summary;
  return (
    outcomes.unexpected === 0 &&
    outcomes.transient === 0 &&
    reports.failed === 0 &&
    reports.unfinished === 0
  );
}
