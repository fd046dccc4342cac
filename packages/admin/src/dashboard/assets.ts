/**
 * The page's files, served from the built package (they are in its "files"),
 * never from a CDN. Only what the page loads can be fetched: the built page
 * directory (dashboard/page/: index.html, dashboard.css, its modules) and the
 * one shared module it imports (render/units.js), by extension; anything else
 * under the package, or outside it, is not found. Files are read once.
 */
import { readFile } from 'node:fs/promises';
import { extname, posix } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The built package's dist/ directory, where this file is dist/dashboard/assets.js. */
const DIST = fileURLToPath(new URL('../', import.meta.url));

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};
const SERVED_DIRECTORY = 'dashboard/page/';
const SERVED_FILES: ReadonlySet<string> = new Set(['render/units.js']);

/** The page's entry, `GET /`. */
export const INDEX = `${SERVED_DIRECTORY}index.html`;

export interface Asset {
  type: string;
  body: Buffer;
}

export class Assets {
  readonly #root: string;
  readonly #cache = new Map<string, Promise<Asset | undefined>>();

  constructor(root = DIST) {
    this.#root = root;
  }

  /** The file at `path` (relative to dist/, as in `/assets/<path>`), or undefined if it is not served. */
  read(path: string): Promise<Asset | undefined> {
    const served = servedPath(path);
    if (served === undefined) return Promise.resolve(undefined);
    let asset = this.#cache.get(served);
    if (asset === undefined) {
      asset = readFile(`${this.#root}${served}`).then(
        (body) => ({ type: TYPES[extname(served)]!, body }),
        () => {
          // Not kept: a stream of made-up names must not grow the cache.
          this.#cache.delete(served);
          return undefined;
        },
      );
      this.#cache.set(served, asset);
    }
    return asset;
  }
}

/** `path` if it names a served file, normalised; undefined otherwise. */
export function servedPath(path: string): string | undefined {
  if (path.includes('\\') || path.includes('\0')) return undefined;
  const normal = posix.normalize(path);
  if (normal !== path || normal.startsWith('/') || normal.split('/').includes('..')) {
    return undefined;
  }
  if (TYPES[extname(normal)] === undefined) return undefined;
  if (SERVED_FILES.has(normal)) return normal;
  return normal.startsWith(SERVED_DIRECTORY) ? normal : undefined;
}
