// BullMQ takes ioredis connection options, not a URL: the bench's Redis URL as those.

/** `redis://[user:password@]host:port[/db]` as BullMQ's `connection` option. */
export function bullmqConnection(url: string): {
  host: string;
  port: number;
  username?: string;
  password?: string;
  db?: number;
} {
  const parsed = new URL(url);
  const connection: ReturnType<typeof bullmqConnection> = {
    host: parsed.hostname,
    port: Number(parsed.port || 6379),
  };
  if (parsed.username) connection.username = decodeURIComponent(parsed.username);
  if (parsed.password) connection.password = decodeURIComponent(parsed.password);
  const db = parsed.pathname.slice(1);
  if (db) connection.db = Number(db);
  return connection;
}
