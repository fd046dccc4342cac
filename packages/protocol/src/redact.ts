/**
 * Credentials never reach a message or a log line: every place that prints a
 * Redis target or an error that may quote one goes through these.
 */

const MASK = '***';
/** A scheme (`redis:`) and the slashes after it, kept in a redacted URL. */
const URL_HEAD = /^(?:[A-Za-z][A-Za-z0-9+.-]*:)?\/*/;
/** Stretches of text ending in `@`: the userinfo of any URL quoted in a message. */
const USERINFO = /[^\s"'`<>()[\]{}]*@/g;
/** A secret passed as a query parameter (ioredis reads `?password=`), up to the next `&`, `#` or space. */
const SECRET_PARAM = /([?&](?:password|pass|pwd|username|user|token|secret)=)[^&#\s"'`]*/gi;

/**
 * A URL with everything between its scheme and its last `@` masked, however
 * malformed: `tcp://user:pw@host` gives `tcp://***@host`, `redis:/:pw@host`
 * gives `redis:/***@host`; credentials in its query (`?password=pw`) are masked
 * too. A URL with neither is returned as it is.
 */
export function redactUrl(url: string): string {
  const at = url.lastIndexOf('@');
  const head = URL_HEAD.exec(url)?.[0] ?? '';
  const masked = at < 0 || head.length > at ? url : `${head}${MASK}${url.slice(at)}`;
  return redactParams(masked);
}

/** Masks credentials given as query parameters (`?password=…`). */
function redactParams(text: string): string {
  return text.includes('=') ? text.replace(SECRET_PARAM, `$1${MASK}`) : text;
}

/**
 * Text, such as an error message from the Redis client, with the credentials of
 * any URL in it masked (`connect ENOENT //:pw@host` gives `connect ENOENT
 * //***@host`). A plain `name@host` without `:` or `/` is left alone.
 */
export function redactText(text: string): string {
  const masked = text.includes('@')
    ? text.replace(USERINFO, (match) =>
        match.includes(':') || match.includes('/') ? redactUrl(match) : match,
      )
    : text;
  return redactParams(masked);
}

/** The message of anything thrown, redacted: for start failures and log lines. */
export function errorMessage(error: unknown): string {
  let message: string;
  try {
    const raw: unknown = error instanceof Error ? error.message : error;
    message = typeof raw === 'string' ? raw : String(raw);
  } catch {
    message = 'an unprintable error';
  }
  return redactText(message);
}

/** Where a Redis client connects, as far as ringcast needs to print it. */
interface RedisTargetOptions {
  host?: unknown;
  port?: unknown;
  path?: unknown;
}

/**
 * `host:port` (or the socket path) of a Redis target given as a URL, ioredis
 * options or a client, for log lines: never credentials.
 */
export function describeRedis(target: unknown): string {
  if (typeof target === 'string') {
    try {
      const url = new URL(target);
      return `${url.hostname || '127.0.0.1'}:${url.port || '6379'}`;
    } catch {
      return '(unparsable URL)';
    }
  }
  if (typeof target !== 'object' || target === null) return '(unknown)';
  const nodes = clusterNodes(target);
  if (nodes !== undefined) return `cluster ${nodes}`;
  const client = target as { options?: unknown; duplicate?: unknown };
  const options = (
    typeof client.duplicate === 'function' && typeof client.options === 'object'
      ? client.options
      : target
  ) as RedisTargetOptions | null;
  if (typeof options?.path === 'string' && options.path) return redactUrl(options.path);
  const host = typeof options?.host === 'string' ? options.host : '127.0.0.1';
  const port =
    typeof options?.port === 'number' || typeof options?.port === 'string' ? options.port : 6379;
  return `${host}:${port}`;
}

/** A cluster target's startup nodes as `host:port,…` (no credentials), or undefined if it is not one. */
function clusterNodes(target: object): string | undefined {
  const client = target as { isCluster?: unknown; startupNodes?: unknown; cluster?: unknown };
  const nodes = client.isCluster === true ? client.startupNodes : client.cluster;
  if (!Array.isArray(nodes)) return undefined;
  return nodes
    .slice(0, 6)
    .map((node) => {
      if (typeof node === 'string') return redactUrl(node);
      const { host, port } = (node ?? {}) as { host?: unknown; port?: unknown };
      return `${typeof host === 'string' ? host : '127.0.0.1'}:${String(port ?? 6379)}`;
    })
    .join(',');
}
