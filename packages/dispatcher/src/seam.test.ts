/**
 * Keeps the transport seam honest: outside the Redis transport, no file of the
 * dispatcher core talks to ioredis at run time or reads the clock or sets a
 * timer except through the transport's `Clock` — else the core would escape the
 * virtual clock of its unit tests and of the simulator.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const here = new URL('.', import.meta.url).pathname;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'testing' ? [] : sources(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

/** Global clock and timer calls: not preceded by a dot (`clock.setTimeout` is fine). */
const GLOBAL_TIME =
  /(?<![.\w])(Date\.now|setTimeout|setInterval|setImmediate|clearTimeout|clearInterval)\s*\(/;

describe('the transport seam', () => {
  const files = sources(here).map((path) => ({
    name: path.slice(here.length),
    text: readFileSync(path, 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/\/\/.*$/gm, ''),
  }));

  it('finds the sources', () => {
    expect(files.map((f) => f.name)).toContain('dispatcher.ts');
  });

  it('leaves ioredis to redis-transport.ts (options.ts names its types only)', () => {
    const users = files
      .filter((f) => /from 'ioredis'/.test(f.text))
      .filter((f) => !(f.name === 'options.ts' && /import type [^;]* from 'ioredis'/.test(f.text)))
      .map((f) => f.name);
    expect(users).toEqual(['redis-transport.ts']);
  });

  it('reads time and sets timers only through the transport clock', () => {
    const offenders = files.filter((f) => GLOBAL_TIME.test(f.text)).map((f) => f.name);
    expect(offenders).toEqual([]);
  });
});
