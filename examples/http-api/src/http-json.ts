// JSON in and out over node:http, and the error a route throws to answer with a status.
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Largest request body the API reads; the tasks' payloads are far smaller. */
export const MAX_BODY_BYTES = 64 * 1024;

/** Ends a request with `status` and the body `{ error: { code, message } }`. */
export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}

/** The request's body parsed as JSON; 400 when it is empty or not JSON, 413 when too large. */
export function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on('data', (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        // Answer now and let the rest drain unread; the connection closes after the answer.
        refused = true;
        chunks.length = 0;
        reject(
          new HttpError(413, 'BODY_TOO_LARGE', `the body exceeds ${MAX_BODY_BYTES} bytes`, {
            connection: 'close',
          }),
        );
        return;
      }
      chunks.push(chunk);
    });
    req.once('error', reject);
    req.once('end', () => {
      if (refused) return;
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') {
        reject(new HttpError(400, 'INVALID_INPUT', 'the body is empty: send a JSON object'));
        return;
      }
      try {
        resolve(JSON.parse(text));
      } catch {
        reject(new HttpError(400, 'INVALID_JSON', 'the body is not valid JSON'));
      }
    });
  });
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

export function sendError(
  res: ServerResponse,
  status: number,
  error: { code: string; message: string; [detail: string]: unknown },
  headers: Readonly<Record<string, string>> = {},
): void {
  sendJson(res, status, { error }, headers);
}
