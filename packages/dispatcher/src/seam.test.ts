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

/**
 * Files that may name ioredis's types, but never import it at run time:
 * options.ts (the `redis` option), and the durable store on Redis, which is
 * the Redis side of the store seam and runs on a client it is handed.
 */
const TYPES_ONLY = new Set(['options.ts', 'durable/lua-script.ts', 'durable/redis-store.ts']);

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

  it('leaves ioredis to redis-transport.ts (a few files name its types only)', () => {
    const users = files
      .filter((f) => /from 'ioredis'/.test(f.text))
      .filter((f) => !(TYPES_ONLY.has(f.name) && /import type [^;]* from 'ioredis'/.test(f.text)))
      .map((f) => f.name);
    expect(users).toEqual(['redis-transport.ts']);
  });

  it('reads time and sets timers only through the transport clock', () => {
    const offenders = files.filter((f) => GLOBAL_TIME.test(f.text)).map((f) => f.name);
    expect(offenders).toEqual([]);
  });
});
