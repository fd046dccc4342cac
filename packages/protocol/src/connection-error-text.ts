/**
 * Why a connection failed, as the one line a failed start reports. Most errors
 * say it well enough; TLS ones need help. OpenSSL's errors quote its own source
 * (`…:error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert certificate
 * required:../deps/openssl/…:1601:SSL alert number 116` and a line break), so
 * they are cut down to their reason. And a server that requires a client
 * certificate may reset the connection before its alert is read, which leaves
 * a bare `ECONNRESET`: over TLS, the likely reason is named beside it.
 */
import { errorMessage } from './redact.js';

const OPENSSL_REASON = /SSL routines:[^:]*:([^:\n]+)/;
const TLS_ALERT = /SSL alert number (\d+)/;
const RESETS = new Set(['ECONNRESET', 'EPIPE']);

/** The reason `error` gives, on one line, redacted; `target` is where the connection went. */
export function connectionErrorText(error: unknown, target: unknown): string {
  let text = errorMessage(error);
  const reason = OPENSSL_REASON.exec(text)?.[1];
  if (reason !== undefined) {
    const alert = TLS_ALERT.exec(text)?.[1];
    text = alert === undefined ? reason : `${reason} (TLS alert ${alert})`;
  }
  text = text.replace(/\s+/g, ' ').trim();
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && RESETS.has(code) && usesTls(target)) {
    text += ' (the server reset the TLS connection: does it require a client certificate?)';
  }
  return text;
}

/** Whether a URL, ioredis options or a client connects with TLS. */
function usesTls(target: unknown): boolean {
  if (typeof target === 'string') return target.startsWith('rediss://');
  if (typeof target !== 'object' || target === null) return false;
  const client = target as { options?: { tls?: unknown }; duplicate?: unknown };
  const options = typeof client.duplicate === 'function' ? client.options : target;
  return Boolean((options as { tls?: unknown } | undefined)?.tls);
}
