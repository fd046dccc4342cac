// The API's routes: each turns a request into a task (or a look at one) and the outcome
// into a status and a JSON body. The dispatcher is all they need of the server.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Dispatcher, isRingcastError } from '@ringcast/dispatcher';
import { errorMessage, isValidId } from '@ringcast/protocol';
import { HttpError, readJson, sendError, sendJson } from './http-json.js';
import { STATUS_BY_CODE, TRANSIENT_CODES } from './http-status.js';
import { InvalidInput, mailRequest, reportRequest, type Tasks, thumbnailRequest } from './tasks.js';

/** Retries of a failure the handler marks retryable (a greylisted mail). */
const MAIL_RETRIES = 2;
/** Finished reports stay readable at `GET /reports/:id` this long. */
const REPORT_TTL_MS = 60 * 60 * 1000;
/** Seconds a client should wait after a 503 or 504 before trying again. */
const RETRY_AFTER_SECONDS = '1';

interface Request {
  req: IncomingMessage;
  res: ServerResponse;
  /** The path's captured parts, decoded. */
  params: string[];
  /** Aborts when the client goes away, which cancels the task it was waiting for. */
  signal: AbortSignal;
}

interface Route {
  method: 'GET' | 'POST';
  path: RegExp;
  run(request: Request): Promise<void>;
}

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

export function createRequestHandler(
  dispatcher: Dispatcher<Tasks>,
  log: (line: string) => void,
): RequestHandler {
  const metrics = dispatcher.metrics().handler;
  const routes: Route[] = [
    {
      method: 'GET',
      path: /^\/health$/,
      async run({ res }) {
        const workers = dispatcher.workers().filter((w) => w.healthy).length;
        sendJson(res, workers > 0 ? 200 : 503, {
          status: workers > 0 ? 'ok' : 'no workers',
          workers,
        });
      },
    },
    {
      method: 'POST',
      path: /^\/thumbnails$/,
      async run({ req, res, signal }) {
        const payload = thumbnailRequest(await readJson(req));
        sendJson(res, 200, await dispatcher.dispatch('thumbnail.render', payload, { signal }));
      },
    },
    {
      method: 'POST',
      path: /^\/mail$/,
      async run({ req, res, signal }) {
        const payload = mailRequest(await readJson(req));
        const receipt = await dispatcher.dispatch('mail.send', payload, {
          signal,
          retries: MAIL_RETRIES,
        });
        sendJson(res, 200, receipt);
      },
    },
    {
      method: 'POST',
      path: /^\/reports$/,
      async run({ req, res }) {
        const payload = reportRequest(await readJson(req));
        // Durable: stored in Redis before this answers, built whenever a worker is free.
        const id = await dispatcher.submit('report.build', payload, { resultTtlMs: REPORT_TTL_MS });
        sendJson(res, 202, { id }, { location: `/reports/${id}` });
      },
    },
    {
      method: 'GET',
      path: /^\/reports\/([^/]+)$/,
      async run({ res, params }) {
        const id = params[0];
        if (!isValidId(id)) {
          throw new HttpError(400, 'INVALID_INPUT', 'a report id is 1 to 128 of [A-Za-z0-9_.-]');
        }
        const task = await dispatcher.task(id);
        if (!task) throw new HttpError(404, 'NOT_FOUND', `no report ${id} (or it expired)`);
        sendJson(res, 200, task);
      },
    },
  ];

  const fail = (res: ServerResponse, error: unknown, what: string) => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (error instanceof HttpError) {
      sendError(res, error.status, { code: error.code, message: error.message }, error.headers);
    } else if (error instanceof InvalidInput) {
      sendError(res, 400, { code: error.code, message: error.message });
    } else if (isRingcastError(error)) {
      const headers: Record<string, string> = TRANSIENT_CODES.has(error.code)
        ? { 'retry-after': RETRY_AFTER_SECONDS }
        : {};
      const body = { code: error.code, message: errorMessage(error), remote: error.remote };
      sendError(res, STATUS_BY_CODE[error.code] ?? 500, body, headers);
    } else {
      log(`${what} failed: ${errorMessage(error)}`);
      sendError(res, 500, { code: 'INTERNAL', message: 'internal error' });
    }
  };

  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const what = `${req.method} ${path}`;
    if (path === '/metrics') {
      metrics(req, res);
      return;
    }
    const matches = routes.filter((r) => r.path.test(path));
    const route = matches.find((r) => r.method === req.method);
    if (!route) {
      if (matches.length === 0) {
        sendError(res, 404, { code: 'NOT_FOUND', message: `no route ${path}` });
      } else {
        const allow = matches.map((r) => r.method).join(', ');
        sendError(
          res,
          405,
          { code: 'METHOD_NOT_ALLOWED', message: `${what}: use ${allow}` },
          { allow },
        );
      }
      req.resume();
      return;
    }
    const aborter = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) aborter.abort();
    });
    let params: string[];
    try {
      params = (route.path.exec(path) ?? []).slice(1).map((p) => decodeURIComponent(p));
    } catch {
      fail(res, new HttpError(400, 'INVALID_INPUT', `${path} is not a valid path`), what);
      return;
    }
    route.run({ req, res, params, signal: aborter.signal }).catch((error: unknown) => {
      fail(res, error, what);
    });
  };
}
