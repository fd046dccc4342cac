#!/usr/bin/env node
import { main } from './main.js';

/** Time to let the event loop empty itself after the command; past it, something holds it open. */
const EXIT_GRACE_MS = 2_000;

// A reader that went away (`ringcast workers | head -1`) is no failure of ours.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

const code = await main(process.argv.slice(2), process.env, {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
});
process.exitCode = code;
setTimeout(() => process.exit(code), EXIT_GRACE_MS).unref();
