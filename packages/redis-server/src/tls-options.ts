/** How a private redis-server serves TLS: its options, and its command-line arguments. */

/** TLS for a private server: PEM files, such as `makeCertificates()` makes. */
export interface RedisServerTls {
  /** The server's certificate. */
  certFile: string;
  /** Its private key. */
  keyFile: string;
  /** The CA whose certificates the server accepts from clients. */
  caFile: string;
  /**
   * Whether clients must show a certificate the CA signed (redis-server's
   * `--tls-auth-clients`). The readiness probe shows the server's own, so with
   * `'yes'` that certificate must also be usable as a client one.
   * @defaultValue 'no'
   */
  authClients?: 'yes' | 'no' | 'optional';
}

/** redis-server's arguments for TLS only on `port`. */
export function tlsArgs(tls: RedisServerTls, port: number): string[] {
  return [
    '--port',
    '0',
    '--tls-port',
    String(port),
    '--tls-cert-file',
    tls.certFile,
    '--tls-key-file',
    tls.keyFile,
    '--tls-ca-cert-file',
    tls.caFile,
    '--tls-auth-clients',
    tls.authClients ?? 'no',
  ];
}
