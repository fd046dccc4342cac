/**
 * TLS from the command line of every ringcast CLI: `--tls-ca`, `--tls-cert`
 * and `--tls-key` name PEM files, read when the CLI starts. They go with a
 * `rediss://` URL only: a certificate given for a plain `redis://` connection
 * would be ignored silently, and the operator would believe the connection
 * encrypted.
 */
import { readFileSync } from 'node:fs';
import { redactUrl } from './redact.js';
import { type RedisUrlOptions, redisUrlOptions } from './redis-url.js';
import { UsageError } from './usage-error.js';

/** The TLS flags, as node:util `parseArgs` options. */
export const TLS_CLI_OPTIONS = {
  'tls-ca': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
} as const;

const TLS_HELP: ReadonlyArray<readonly [string, string]> = [
  ['--tls-ca <file>', 'CA certificate(s) to trust, PEM (rediss:// only)'],
  ['--tls-cert <file>', 'client certificate, PEM, for mutual TLS (with --tls-key)'],
  ['--tls-key <file>', "the client certificate's private key, PEM"],
];

/** The flags' lines for a `--help`, each description starting at column `width`. */
export function tlsHelp(width: number): string {
  return TLS_HELP.map(([flag, text]) => `  ${flag.padEnd(width - 3)} ${text}\n`).join('');
}

/** The files the TLS flags name, as given (relative to the working directory). */
export interface TlsFiles {
  ca?: string;
  cert?: string;
  key?: string;
}

/** TLS material as ioredis's `tls` option (Node's `tls.connect`) takes it. */
export interface TlsMaterial {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

const FLAGS = { ca: 'tls-ca', cert: 'tls-cert', key: 'tls-key' } as const;

/**
 * The TLS flags given with `redis`, or undefined for none. Throws `UsageError`
 * for a flag without a `rediss://` URL, or a certificate without its key (or
 * a key without its certificate).
 */
export function tlsFiles(
  values: Readonly<Record<string, string | boolean | string[] | undefined>>,
  redis: string,
): TlsFiles | undefined {
  const files: TlsFiles = {};
  for (const [field, flag] of Object.entries(FLAGS)) {
    const value = values[flag];
    if (typeof value === 'string') files[field as keyof TlsFiles] = value;
  }
  const given = Object.keys(files).map((field) => `--${FLAGS[field as keyof TlsFiles]}`);
  if (given.length === 0) return undefined;
  if (!redis.startsWith('rediss://')) {
    throw new UsageError(
      `${given.join(', ')} ${given.length === 1 ? 'needs' : 'need'} a rediss:// URL (TLS), got ${JSON.stringify(redactUrl(redis).slice(0, 200))}`,
    );
  }
  if ((files.cert === undefined) !== (files.key === undefined)) {
    throw new UsageError(
      '--tls-cert and --tls-key go together: a client certificate needs its key',
    );
  }
  return files;
}

/** Reads the files. Throws `UsageError` naming the flag and the file that cannot be read. */
export function readTlsFiles(files: TlsFiles): TlsMaterial {
  const material: TlsMaterial = {};
  for (const [field, flag] of Object.entries(FLAGS)) {
    const path = files[field as keyof TlsFiles];
    if (path === undefined) continue;
    try {
      material[field as keyof TlsMaterial] = readFileSync(path);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      const why = typeof code === 'string' ? code : 'unreadable';
      throw new UsageError(`--${flag} ${JSON.stringify(path)}: cannot read it (${why})`);
    }
  }
  return material;
}

/** A `rediss://` URL and TLS material as one ioredis options object. */
export function redisTlsOptions(url: string, tls: TlsMaterial): RedisUrlOptions {
  const options = redisUrlOptions(url);
  return { ...options, tls: { ...options.tls, ...tls } };
}
