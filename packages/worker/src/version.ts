import { readFileSync } from 'node:fs';

/** This package's version, as recorded in the registry; read once from package.json. */
export const VERSION: string = (() => {
  try {
    const pkg: unknown = JSON.parse(
      readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
    );
    const version = (pkg as { version?: unknown }).version;
    return typeof version === 'string' ? version : '0.0.0';
  } catch {
    return '0.0.0';
  }
})();
