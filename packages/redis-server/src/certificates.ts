/**
 * Throwaway X.509 material for TLS tests: a CA, a server certificate it signed
 * (valid for 127.0.0.1 and localhost) and a client certificate it signed, made
 * with the `openssl` command line when asked for. Node's crypto makes keys but
 * not certificates, so openssl it is. Keys are EC P-256: made in milliseconds,
 * where RSA keys would take a noticeable share of a test's time.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findOnPath } from './find-on-path.js';

/** A certificate and its private key, as PEM files. */
export interface CertificateFiles {
  readonly certFile: string;
  readonly keyFile: string;
}

/** What {@link makeCertificates} made. */
export interface Certificates {
  /** The directory holding every file; removed by {@link Certificates.remove}. */
  readonly dir: string;
  /** The CA certificate: trust it to trust the server, or give it to a server to check clients. */
  readonly caFile: string;
  /** For the server: subjectAltName IP:127.0.0.1 and DNS:localhost. */
  readonly server: CertificateFiles;
  /** For a client (mutual TLS). */
  readonly client: CertificateFiles;
  /** Removes the directory. Idempotent. */
  remove(): void;
}

/** Absolute path of `openssl` on the PATH, or undefined. */
export function opensslBinary(): string | undefined {
  return findOnPath('openssl');
}

const DAYS = '2';
const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

const dirs = new Set<string>();
process.once('exit', () => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/**
 * Makes a fresh CA and a server and a client certificate signed by it, in a new
 * temporary directory. The server certificate may also serve as a client one
 * (extended key usage serverAuth and clientAuth): the launcher's readiness probe
 * presents it to a server that requires client certificates.
 * Throws when openssl is not on the PATH or fails (its stderr in the message).
 */
export function makeCertificates(): Certificates {
  const openssl = opensslBinary();
  if (!openssl) throw new Error('openssl is not on the PATH (apt-get install -y openssl)');
  const dir = mkdtempSync(join(tmpdir(), 'ringcast-tls-'));
  dirs.add(dir);
  const file = (name: string) => join(dir, name);
  const run = (args: string[]) => {
    try {
      execFileSync(openssl, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (error) {
      const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim() ?? '';
      throw new Error(`openssl ${args[0]} failed: ${stderr || String(error)}`);
    }
  };
  const remove = () => {
    rmSync(dir, { recursive: true, force: true });
    dirs.delete(dir);
  };
  try {
    run(
      ['req', '-x509', ...EC_KEY, '-days', DAYS, '-subj', '/CN=ringcast test CA'].concat([
        '-keyout',
        file('ca.key'),
        '-out',
        file('ca.crt'),
      ]),
    );
    const sign = (name: string, subject: string, extensions: string): CertificateFiles => {
      const keyFile = file(`${name}.key`);
      const certFile = file(`${name}.crt`);
      writeFileSync(file(`${name}.ext`), extensions);
      run(
        ['req', '-new', ...EC_KEY, '-subj', subject, '-keyout', keyFile].concat([
          '-out',
          file(`${name}.csr`),
        ]),
      );
      run(
        ['x509', '-req', '-in', file(`${name}.csr`), '-CA', file('ca.crt')]
          .concat(['-CAkey', file('ca.key'), '-CAcreateserial', '-days', DAYS])
          .concat(['-extfile', file(`${name}.ext`), '-out', certFile]),
      );
      return { certFile, keyFile };
    };
    const server = sign(
      'server',
      '/CN=localhost',
      'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n',
    );
    const client = sign('client', '/CN=ringcast test client', 'extendedKeyUsage=clientAuth\n');
    return { dir, caFile: file('ca.crt'), server, client, remove };
  } catch (error) {
    remove();
    throw error;
  }
}
