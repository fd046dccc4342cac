#!/usr/bin/env node
// The command npm links. It is committed rather than built, so that `npm ci`
// links it even before `npm run build` has made the compiled CLI it starts.
import { existsSync } from 'node:fs';

const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write(
    'ringcast: the admin CLI is not built (dist/cli.js is missing); run `npm run build` first\n',
  );
  process.exit(1);
}
await import(cli.href);
