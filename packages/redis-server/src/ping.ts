/**
 * Whether a starting redis-server answers yet: a PING on a raw socket, or on a
 * TLS socket for a server that serves TLS only.
 */
import { readFileSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import type { RedisServerTls } from './tls-options.js';

function open(host: string, port: number, tls: RedisServerTls | undefined): Socket {
  if (tls === undefined) return createConnection({ host, port });
  // Only whether it answers matters here: the probe trusts whatever certificate it is shown.
  return connectTls({
    host,
    port,
    rejectUnauthorized: false,
    cert: readFileSync(tls.certFile),
    key: readFileSync(tls.keyFile),
  });
}

/** True once the server at `host:port` answers PING (NOAUTH counts: it is up). */
export function ping(
  host: string,
  port: number,
  timeoutMs: number,
  tls?: RedisServerTls,
): Promise<boolean> {
  return new Promise((resolve) => {
    let socket: Socket;
    try {
      socket = open(host, port, tls);
    } catch {
      resolve(false);
      return;
    }
    let reply = '';
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.on('error', () => done(false));
    socket.once(tls === undefined ? 'connect' : 'secureConnect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('latin1');
      // A server started with --requirepass answers NOAUTH: it is up all the same.
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG') || reply.startsWith('-NOAUTH'));
    });
  });
}
