import { readFileSync } from 'node:fs';
import { afterAll, beforeAll } from 'vitest';
import { privateRedisAvailable } from './redis.js';
import {
  type Certificates,
  makeCertificates,
  opensslBinary,
  type RedisServer,
  type RedisServerTls,
  startRedisServer,
} from './redis-server.js';

/** True when tests can start a TLS redis-server of their own: redis-server and openssl on the PATH. */
export const tlsRedisAvailable: boolean = privateRedisAvailable && opensslBinary() !== undefined;

/** TLS material as ioredis's `tls` option takes it. */
export interface ClientTls {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

export interface TlsRedisHandle {
  /** `rediss://127.0.0.1:<port>`; valid from beforeAll on. */
  readonly url: string;
  readonly server: RedisServer;
  readonly certs: Certificates;
  /** The CA, and with `client` the client certificate and key, read for ioredis's `tls`. */
  clientTls(options?: { client?: boolean }): ClientTls;
  /** The same as CLI flags: `--tls-ca <file>` and, with `client`, `--tls-cert`, `--tls-key`. */
  cliArgs(options?: { client?: boolean }): string[];
}

/**
 * Call at the top of a describe block: fresh certificates and a private
 * redis-server serving TLS only with them, started in beforeAll and stopped
 * (certificates removed) in afterAll.
 */
export function useTlsRedis(authClients: RedisServerTls['authClients'] = 'no'): TlsRedisHandle {
  let certs: Certificates | undefined;
  let server: RedisServer | undefined;
  beforeAll(async () => {
    certs = makeCertificates();
    server = await startRedisServer({
      tls: {
        certFile: certs.server.certFile,
        keyFile: certs.server.keyFile,
        caFile: certs.caFile,
        authClients,
      },
    });
  });
  afterAll(async () => {
    await server?.stop();
    certs?.remove();
  });
  const started = () => {
    if (!server || !certs) throw new Error('the TLS Redis is not started yet');
    return { server, certs };
  };
  return {
    get url() {
      return started().server.url;
    },
    get server() {
      return started().server;
    },
    get certs() {
      return started().certs;
    },
    clientTls({ client = false } = {}) {
      const { certs } = started();
      const tls: ClientTls = { ca: readFileSync(certs.caFile) };
      if (client) {
        tls.cert = readFileSync(certs.client.certFile);
        tls.key = readFileSync(certs.client.keyFile);
      }
      return tls;
    },
    cliArgs({ client = false } = {}) {
      const { certs } = started();
      const args = ['--tls-ca', certs.caFile];
      if (client) args.push('--tls-cert', certs.client.certFile, '--tls-key', certs.client.keyFile);
      return args;
    },
  };
}
