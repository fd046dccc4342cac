/**
 * A `redis://` or `rediss://` URL as ioredis options, for a caller that must
 * add options a URL cannot carry (TLS certificates) and hand on one options
 * object: the worker's `redis` option takes a URL or options, not both. It
 * reads a URL exactly as ioredis does (its `parseURL`, which it does not
 * export): query parameters become options, the URL's own parts win over
 * them, and `rediss://` means TLS.
 */

/** What a Redis URL says, as ioredis options. */
export interface RedisUrlOptions {
  host?: string;
  port?: number;
  username?: string;
  password?: string;
  db?: number;
  /** `{}` for `rediss://`: TLS with Node's defaults, which a caller may add to. */
  tls?: Record<string, unknown>;
  /** Query parameters, as ioredis takes them (`family` as a number). */
  [option: string]: unknown;
}

/** The URL's options. Throws a TypeError for a string that is not a URL. */
export function redisUrlOptions(url: string): RedisUrlOptions {
  const parsed = new URL(url);
  const options: RedisUrlOptions = {};
  parsed.searchParams.forEach((value, key) => {
    if (key === '__proto__') return;
    const family = key === 'family' ? Number.parseInt(value, 10) : Number.NaN;
    options[key] = Number.isNaN(family) ? value : family;
  });
  if (parsed.username || parsed.password) {
    options.username = decodeURIComponent(parsed.username);
    options.password = decodeURIComponent(parsed.password);
  }
  if (parsed.pathname.length > 1) options.db = Number.parseInt(parsed.pathname.slice(1), 10);
  // WHATWG URL keeps the brackets of an IPv6 address; a socket address has none.
  if (parsed.hostname) options.host = parsed.hostname.replace(/^\[|\]$/g, '');
  if (parsed.port) options.port = Number.parseInt(parsed.port, 10);
  if (parsed.protocol === 'rediss:') options.tls = {};
  return options;
}
