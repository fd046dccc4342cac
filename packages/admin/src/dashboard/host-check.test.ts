import { describe, expect, it } from 'vitest';
import { hostCheck, hostName } from './host-check.js';

describe('hostName', () => {
  it.each([
    ['localhost:8080', 'localhost'],
    ['Dashboard.Example.COM', 'dashboard.example.com'],
    ['dashboard.example.com.:80', 'dashboard.example.com'],
    ['127.0.0.1:9000', '127.0.0.1'],
    ['[::1]:8080', '::1'],
    ['[::1]', '::1'],
    ['::1', '::1'],
    ['', undefined],
    [':8080', undefined],
    ['[]:80', undefined],
    [undefined, undefined],
  ])('reads %j as %j', (header, name) => {
    expect(hostName(header)).toBe(name);
  });
});

describe('hostCheck', () => {
  const onLoopback = hostCheck('127.0.0.1');
  const onAll = hostCheck('0.0.0.0', ['dash.internal', 'Ops.Example.com']);
  const onName = hostCheck('monitor.lan');

  it.each([
    'localhost:8080',
    'LOCALHOST',
    'app.localhost:8080',
    '127.0.0.1:8080',
    '[::1]:8080',
    '10.1.2.3:8080',
  ])('answers %j on loopback: this machine, or an address', (header) => {
    expect(onLoopback(header)).toBe(true);
  });

  it.each([
    'evil.example:8080',
    'evil.example',
    'localhost.evil.example',
    '127.0.0.1.nip.io:8080',
    '',
    undefined,
  ])('refuses %j on loopback: a name that could have been re-pointed, or none', (header) => {
    expect(onLoopback(header)).toBe(false);
  });

  it('answers the names an operator allows, and the name it listens on', () => {
    expect(onAll('dash.internal:8080')).toBe(true);
    expect(onAll('ops.example.com')).toBe(true);
    expect(onAll('other.internal')).toBe(false);
    expect(onName('monitor.lan:8080')).toBe(true);
    expect(onName('monitor.lan.evil.example')).toBe(false);
  });
});
