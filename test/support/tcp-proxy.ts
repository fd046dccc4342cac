/**
 * A TCP proxy in front of a redis-server that can hold back what Redis sends to
 * one connection: a test can keep a client in the middle of its handshake (its
 * commands sent, no reply yet) for as long as it likes, which pausing the whole
 * server cannot do for one client alone.
 */
import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';

export interface ProxiedConnection {
  /** Resolves once the client has ended its side (ioredis's `disconnect()`). */
  readonly clientEnded: Promise<void>;
  /** Resolves once both sides are closed. */
  readonly closed: Promise<void>;
  /** Passes on what Redis sent meanwhile, and from now on everything at once. */
  release(): void;
}

export interface TcpProxy {
  /** `redis://` URL of the proxy. */
  readonly url: string;
  /**
   * The next connection the proxy accepts; once its client has sent `command`
   * (say `'info'`, ioredis's ready check), Redis's replies to it are held back.
   */
  holdNext(command: string): Promise<ProxiedConnection>;
  close(): Promise<void>;
}

/** Starts a proxy on 127.0.0.1 to the Redis at `target` (`redis://host:port`). */
export async function startTcpProxy(target: string): Promise<TcpProxy> {
  const { hostname, port } = new URL(target);
  const sockets = new Set<Socket>();
  let holdNext: { command: string; resolve: (connection: ProxiedConnection) => void } | undefined;
  // Half-open kept: a client that ended its side may still be owed replies.
  const server = createServer({ allowHalfOpen: true }, (client) => {
    const upstream = connect({ host: hostname, port: Number(port), allowHalfOpen: true });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => socket.destroy());
      socket.on('close', () => sockets.delete(socket));
    }
    const held: Buffer[] = [];
    const hold = holdNext;
    holdNext = undefined;
    // RESP: a command's name goes as a bulk string of its own.
    const trigger = hold && `\r\n${hold.command.toLowerCase()}\r\n`;
    let holding = false;
    let released = false;
    let upstreamEnded = false;
    const release = () => {
      released = true;
      if (!holding) return;
      holding = false;
      for (const chunk of held.splice(0)) client.write(chunk);
      if (upstreamEnded) client.end();
    };
    upstream.on('data', (chunk: Buffer) => (holding ? held.push(chunk) : client.write(chunk)));
    upstream.on('end', () => {
      upstreamEnded = true;
      if (!holding) client.end();
    });
    client.on('data', (chunk: Buffer) => {
      if (trigger && !released && chunk.toString('latin1').toLowerCase().includes(trigger)) {
        holding = true;
      }
      upstream.write(chunk);
    });
    client.on('end', () => upstream.end());
    const closed = Promise.all([closing(client), closing(upstream)]).then(() => {});
    if (hold) {
      const clientEnded = new Promise<void>((done) => client.once('end', done));
      hold.resolve({ clientEnded, closed, release });
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address() as AddressInfo;
  return {
    url: `redis://127.0.0.1:${address.port}`,
    holdNext: (command) =>
      new Promise((resolve) => {
        holdNext = { command, resolve };
      }),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

function closing(socket: Socket): Promise<void> {
  return new Promise((resolve) => socket.once('close', () => resolve()));
}
