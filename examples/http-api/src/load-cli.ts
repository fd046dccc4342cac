// The load script on its own, against an API already running (`npm run example -- --keep`):
//   npm run load -w @ringcast/example-http-api -- --url http://127.0.0.1:3000 --duration 5
import { LOAD_USAGE, parseLoadArgs, withArgs } from './args.js';
import { passed, runLoad } from './load.js';
import { formatSummary } from './load-summary.js';

const say = (line = '') => process.stdout.write(`${line}\n`);

withArgs('load', LOAD_USAGE, parseLoadArgs, async ({ url, durationS, rate, concurrency }) => {
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  say(`Load on ${url}: ${durationS} s at ${rate} requests/s, up to ${concurrency} at once`);
  const summary = await runLoad({
    apiUrl: url,
    durationMs: durationS * 1000,
    rate,
    concurrency,
    signal: stop.signal,
  });
  say();
  for (const line of formatSummary(summary)) say(line);
  return passed(summary) ? 0 : 1;
}).then((code) => process.exit(code));
