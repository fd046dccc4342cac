// `npm run example`: starts the example application, sends it load, prints how it went.
// Flags: see args.ts (or `npm run example -- --help`).
import { errorMessage, redactUrl } from '@ringcast/protocol';
import { EXAMPLE_USAGE, type ExampleArgs, parseExampleArgs, withArgs } from './args.js';
import { passed, runLoad } from './load.js';
import { formatSummary } from './load-summary.js';
import { assertRedisAvailable, type System, startSystem } from './system.js';

const EXIT_OK = 0;
const EXIT_FAILED = 1;
const EXIT_SIGNAL = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;
type StopSignal = keyof typeof EXIT_SIGNAL;
/** A signal repeated this soon is the same Ctrl-C (npm passes it on as well): not a second one. */
const REPEAT_MS = 1_000;
/** How long stopping may take after a signal before the example exits regardless. */
const FORCED_EXIT_MS = 15_000;

const say = (line = '') => process.stdout.write(`${line}\n`);

/** Settles with the first stop signal; a later one (not a repeat) exits at once. */
function stopSignals(): { signal: Promise<StopSignal>; abort: AbortSignal } {
  const aborter = new AbortController();
  let first: number | undefined;
  const signal = new Promise<StopSignal>((resolve) => {
    const on = (name: StopSignal) => {
      if (first === undefined) {
        first = Date.now();
        setTimeout(() => process.exit(EXIT_SIGNAL[name]), FORCED_EXIT_MS).unref();
        aborter.abort();
        resolve(name);
      } else if (Date.now() - first > REPEAT_MS) {
        // The exit hooks kill the workers and the redis-server this process started.
        process.exit(EXIT_SIGNAL[name]);
      }
    };
    for (const name of Object.keys(EXIT_SIGNAL) as StopSignal[]) process.on(name, on);
  });
  return { signal, abort: aborter.signal };
}

function describeStart(system: System, args: ExampleArgs, external: boolean): void {
  const redis = external
    ? `${redactUrl(system.redisUrl)} (REDIS_URL), namespace ${system.namespace}`
    : `${system.redisUrl} (a private redis-server, pid ${system.redisPid}, stopped at the end)`;
  const workers = system.workers.map((id) => {
    const w = system.worker(id)!;
    return `${id} (weight ${w.weight}, pid ${w.pid})`;
  });
  const inspect = external
    ? `npx ringcast workers --redis <REDIS_URL> --namespace ${system.namespace}`
    : `npx ringcast workers --redis ${system.redisUrl}`;
  say(`  Redis     ${redis}`);
  say(`  API       ${system.apiUrl}   (try: curl -s ${system.apiUrl}/health)`);
  say(`  Workers   ${workers.join(', ')}`);
  say(`  Inspect   ${inspect}`);
  say();
  if (args.durationS > 0) {
    say(
      `Load: ${args.durationS} s at ${args.rate} requests/s, up to ${args.concurrency} at once ` +
        '(thumbnails, mail, reports, and some bad input on purpose)',
    );
  }
}

async function run(args: ExampleArgs): Promise<number> {
  const { signal, abort } = stopSignals();
  const redisUrl = process.env['REDIS_URL'] || undefined;
  assertRedisAvailable(redisUrl);
  const weights = args.weights.join(', ');
  say(
    `ringcast example: an HTTP API embedding a dispatcher, ${args.weights.length} ringcast-worker ` +
      `processes (weights ${weights}), ${redisUrl ? 'the Redis at REDIS_URL' : 'a private redis-server'}`,
  );
  let quiet = false;
  const starting = startSystem({
    ...(redisUrl ? { redisUrl } : {}),
    workers: args.weights.map((weight) => ({ weight })),
    apiPort: args.port,
    // Warnings only: a worker lost, a connection dropped. The rest is the system working.
    log: (line, level) => {
      if (!quiet && level === 'warn') process.stderr.write(`  ${line}\n`);
    },
  });
  const started = await Promise.race([starting, signal]);
  if (typeof started === 'string') {
    quiet = true;
    await starting.then(
      (system) => system.stop(),
      () => {},
    );
    return EXIT_SIGNAL[started];
  }
  const system = started;
  try {
    describeStart(system, args, redisUrl !== undefined);
    let ok = true;
    if (args.durationS > 0) {
      const summary = await runLoad({
        apiUrl: system.apiUrl,
        durationMs: args.durationS * 1000,
        rate: args.rate,
        concurrency: args.concurrency,
        signal: abort,
      });
      if (abort.aborted) {
        say('Interrupted: stopping the API, the workers and Redis');
        return EXIT_SIGNAL[await signal];
      }
      say();
      for (const line of formatSummary(summary)) say(line);
      say();
      ok = passed(summary);
      say(
        ok
          ? 'Every request succeeded or failed as intended, and every report was built.'
          : 'FAILED: some requests ended in ways they should not have (see above).',
      );
    }
    if (args.keep) {
      say(`Serving at ${system.apiUrl} until Ctrl-C (the README lists the endpoints).`);
      await signal;
      say('Stopping the API, the workers and Redis');
    }
    return ok ? EXIT_OK : EXIT_FAILED;
  } finally {
    quiet = true;
    await system.stop();
  }
}

function startFailure(error: unknown, args: ExampleArgs): string {
  if ((error as { code?: unknown }).code === 'EADDRINUSE') {
    return `port ${args.port} is in use: pass --port <n> (0 for any free port)`;
  }
  return errorMessage(error);
}

withArgs('example', EXAMPLE_USAGE, parseExampleArgs, async (args) => {
  try {
    return await run(args);
  } catch (error) {
    process.stderr.write(`example: ${startFailure(error, args)}\n`);
    return EXIT_FAILED;
  }
}).then((code) => process.exit(code));
