import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Assets, INDEX, servedPath } from './assets.js';

describe('servedPath', () => {
  it.each([
    ['dashboard/page/main.js', 'dashboard/page/main.js'],
    ['dashboard/page/dashboard.css', 'dashboard/page/dashboard.css'],
    [INDEX, INDEX],
    ['render/units.js', 'render/units.js'],
    // Not the page's: the rest of the package, maps, declarations, other kinds.
    ['dashboard/server.js', undefined],
    ['connection.js', undefined],
    ['render/table.js', undefined],
    ['dashboard/page/main.js.map', undefined],
    ['dashboard/page/main.d.ts', undefined],
    ['dashboard/page/notes.txt', undefined],
    // Ways out of the directory.
    ['dashboard/page/../server.js', undefined],
    ['dashboard/page/../../../package.json', undefined],
    ['/etc/passwd', undefined],
    ['dashboard/page//main.js', undefined],
    ['dashboard\\page\\main.js', undefined],
    ['dashboard/page/main.js\0.css', undefined],
    ['', undefined],
  ])('%j is %j', (path, served) => {
    expect(servedPath(path)).toBe(served);
  });
});

describe('Assets', () => {
  const root = mkdtempSync(join(tmpdir(), 'ringcast-assets-'));
  mkdirSync(join(root, 'dashboard/page'), { recursive: true });
  writeFileSync(join(root, 'dashboard/page/main.js'), 'export {};\n');
  writeFileSync(join(root, 'dashboard/page/index.html'), '<!doctype html>\n');
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('reads a served file with its content type; nothing for one that is missing or not served', async () => {
    const assets = new Assets(`${root}/`);
    expect(await assets.read('dashboard/page/main.js')).toEqual({
      type: 'text/javascript; charset=utf-8',
      body: Buffer.from('export {};\n'),
    });
    expect((await assets.read(INDEX))?.type).toBe('text/html; charset=utf-8');
    expect(await assets.read('dashboard/page/absent.js')).toBeUndefined();
    expect(await assets.read('dashboard/page/../../x.js')).toBeUndefined();
  });
});
