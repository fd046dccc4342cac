import { UsageError } from '@ringcast/protocol';
import { describe, expect, it } from 'vitest';
import { parseCommandLine } from '../cli-args.js';
import { COMMANDS } from './index.js';

const parse = (...argv: string[]) => parseCommandLine(['dashboard', ...argv], {}, COMMANDS);

describe('ringcast dashboard arguments', () => {
  it('listens on 127.0.0.1:8080 unless told otherwise', () => {
    expect(parse()).toMatchObject({ args: { host: '127.0.0.1', port: 8080 } });
    expect(parse('--port', '0', '--host', '0.0.0.0')).toMatchObject({
      args: { host: '0.0.0.0', port: 0 },
    });
    expect(parse('--host', '::1', '--port', '65535')).toMatchObject({
      args: { host: '::1', port: 65_535 },
    });
  });

  it('takes --allow-host names, as many as given', () => {
    expect(parse()).toMatchObject({ args: { allowHosts: [] } });
    expect(
      parse(
        '--allow-host',
        'dash.internal',
        '--host',
        '0.0.0.0',
        '--allow-host',
        'ops.example.com',
      ),
    ).toMatchObject({
      args: { host: '0.0.0.0', allowHosts: ['dash.internal', 'ops.example.com'] },
    });
  });

  it('logs text unless --log-format json', () => {
    expect(parse()).toMatchObject({ args: { logFormat: 'text' } });
    expect(parse('--log-format', 'json')).toMatchObject({ args: { logFormat: 'json' } });
  });

  it.each([
    [['--log-format', 'xml'], /--log-format must be text or json, got "xml"/],
    [['--allow-host', 'a b'], /--allow-host must be a host name or an IP address, got "a b"/],
    [['--allow-host', ''], /--allow-host must be/],
    [['--allow-host'], /--allow-host/],
    [['--port', '65536'], /--port must be a port number from 0 to 65535, got "65536"/],
    [['--port', '-1'], /--port/],
    [['--port', '80a'], /--port must be/],
    [['--port', ''], /--port must be/],
    [['--host', ''], /--host must be a host name or an IP address/],
    [['--host', 'a b'], /--host must be/],
    [['extra'], /unexpected argument "extra"/],
  ])('refuses %j with a UsageError', (argv, message) => {
    expect(() => parse(...argv)).toThrow(UsageError);
    expect(() => parse(...argv)).toThrow(message);
  });

  it('says in its help where it listens, that it only reads, and what it serves', () => {
    const help = parse('--help');
    expect(help.kind).toBe('help');
    const text = help.kind === 'help' ? help.text : '';
    expect(text).toContain('It listens on 127.0.0.1, this machine only, unless --host');
    expect(text).toContain('It only reads Redis.');
    expect(text).toContain('DNS rebinding');
    expect(text).toContain('At\nmost 100 pages follow it at once (503 beyond)');
    for (const endpoint of ['/api/snapshot', '/api/history', '/events', '/metrics']) {
      expect(text).toContain(endpoint);
    }
  });
});
