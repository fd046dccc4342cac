import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { connectionOptions } from './cli.js';
import { readTlsFiles, redisTlsOptions, tlsFiles, tlsHelp } from './cli-tls.js';
import { UsageError } from './usage-error.js';

describe('tlsFiles', () => {
  it('is undefined without TLS flags', () => {
    expect(tlsFiles({}, 'rediss://h:1')).toBeUndefined();
  });

  it.each([
    [{ 'tls-ca': 'ca.pem' }, { ca: 'ca.pem' }],
    [
      { 'tls-ca': 'ca.pem', 'tls-cert': 'c.pem', 'tls-key': 'k.pem' },
      { ca: 'ca.pem', cert: 'c.pem', key: 'k.pem' },
    ],
    [
      { 'tls-cert': 'c.pem', 'tls-key': 'k.pem' },
      { cert: 'c.pem', key: 'k.pem' },
    ],
  ])('reads %j', (values, files) => {
    expect(tlsFiles(values, 'rediss://h:1')).toEqual(files);
  });

  it.each([
    [
      { 'tls-ca': 'ca.pem' },
      'redis://:pw@h:1',
      /--tls-ca needs a rediss:\/\/ URL.*redis:\/\/\*\*\*@h:1/,
    ],
    [{ 'tls-cert': 'c.pem' }, 'rediss://h:1', /--tls-cert and --tls-key go together/],
    [{ 'tls-key': 'k.pem' }, 'rediss://h:1', /--tls-cert and --tls-key go together/],
  ])('refuses %j with %s', (values, url, message) => {
    expect(() => tlsFiles(values, url)).toThrow(UsageError);
    expect(() => tlsFiles(values, url)).toThrow(message);
  });

  it('comes with the connection options', () => {
    expect(
      connectionOptions({ redis: 'rediss://h:1', 'tls-ca': 'ca.pem' }, { RINGCAST_NAMESPACE: 'n' }),
    ).toEqual({ redis: 'rediss://h:1', namespace: 'n', tls: { ca: 'ca.pem' } });
  });
});

describe('readTlsFiles', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ringcast-cli-tls-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads each file given', () => {
    writeFileSync(join(dir, 'ca.pem'), 'CA');
    expect(readTlsFiles({ ca: join(dir, 'ca.pem') })).toEqual({ ca: Buffer.from('CA') });
  });

  it('names the flag and the file it cannot read', () => {
    const missing = join(dir, 'missing.pem');
    expect(() => readTlsFiles({ cert: missing, key: missing })).toThrow(
      new UsageError(`--tls-cert ${JSON.stringify(missing)}: cannot read it (ENOENT)`),
    );
  });
});

describe('redisTlsOptions', () => {
  it("is the URL's options with the material as its tls", () => {
    const ca = Buffer.from('CA');
    expect(redisTlsOptions('rediss://:pw@h:6380/1', { ca })).toEqual({
      host: 'h',
      port: 6380,
      username: '',
      password: 'pw',
      db: 1,
      tls: { ca },
    });
  });
});

describe('tlsHelp', () => {
  it('aligns the descriptions at the column asked for', () => {
    const lines = tlsHelp(23).trimEnd().split('\n');
    expect(lines.map((line) => line.slice(0, 2 + 20).trimEnd())).toEqual([
      '  --tls-ca <file>',
      '  --tls-cert <file>',
      '  --tls-key <file>',
    ]);
    for (const line of lines) {
      expect(line[22]).toBe(' ');
      expect(line[23]).not.toBe(' ');
    }
  });
});
