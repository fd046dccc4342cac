import { describe, expect, it } from 'vitest';
import { connectionErrorText } from './connection-error-text.js';

function withCode(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

const OPENSSL =
  '807C414B017F0000:error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert certificate required:' +
  '../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 116\n';

describe('connectionErrorText', () => {
  it.each([
    [
      'an OpenSSL error, cut to its reason and alert',
      new Error(OPENSSL),
      'rediss://h',
      'tlsv13 alert certificate required (TLS alert 116)',
    ],
    [
      'an OpenSSL error without an alert',
      new Error(
        '4087:error:0A000086:SSL routines:tls_post_process_server_certificate:certificate verify failed:../ssl/statem.c:1889:',
      ),
      'rediss://h',
      'certificate verify failed',
    ],
    [
      "Node's own verification error, as it is",
      new Error('self-signed certificate in certificate chain'),
      'rediss://h',
      'self-signed certificate in certificate chain',
    ],
    [
      'a message on several lines, on one',
      new Error('first\n  second'),
      'redis://h',
      'first second',
    ],
    [
      'credentials, masked',
      new Error('connect ENOENT //:pw@h'),
      'redis://h',
      'connect ENOENT //***@h',
    ],
    [
      'a reset over TLS, with its likely reason',
      withCode('write ECONNRESET', 'ECONNRESET'),
      { host: 'h', tls: { ca: 'x' } },
      'write ECONNRESET (the server reset the TLS connection: does it require a client certificate?)',
    ],
    [
      'a reset without TLS, as it is',
      withCode('read ECONNRESET', 'ECONNRESET'),
      'redis://h',
      'read ECONNRESET',
    ],
  ])('%s', (_what, error, target, text) => {
    expect(connectionErrorText(error, target)).toBe(text);
  });

  it("reads TLS from a client's options", () => {
    const client = { duplicate() {}, options: { tls: {} } };
    expect(connectionErrorText(withCode('write EPIPE', 'EPIPE'), client)).toMatch(
      /client certificate/,
    );
  });
});
