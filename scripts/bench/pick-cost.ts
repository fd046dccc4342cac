// What a selection strategy costs per task, measured alone: the pick, the attempt going on
// and off the worker's books (loadChanged) and, for latency, the round trip (observe), in a
// tight loop in one process. The closed-loop bench cannot show a difference of tens of
// nanoseconds on a shared 2-core machine; this can.
//
//   tsx scripts/bench/pick-cost.ts [--workers 2,16,256] [--tasks 2000000] [--runs 5]
import { parseArgs } from 'node:util';
import { STRATEGY_NAMES, type StrategyName } from '@ringcast/dispatcher';
import { type Candidate, createStrategy, type Strategy } from '@ringcast/dispatcher/internal';

interface Fake extends Candidate {
  readonly id: string;
  readonly weight: number;
  inflight: number;
  readonly capacity: number;
  readonly handlers: ReadonlySet<string>;
}

/** The dispatcher's filter, as delivery.ts has it, less the liveness flags. */
const canTake = (w: Fake, handler: string): boolean =>
  w.inflight < w.capacity && w.handlers.has(handler);

function measure(name: StrategyName, workers: number, tasks: number, inFlight: number): number {
  const fleet: Fake[] = Array.from({ length: workers }, (_, k) => ({
    id: `worker-${k}`,
    weight: 100,
    inflight: 0,
    capacity: 200,
    handlers: new Set(['echo']),
  }));
  const s: Strategy<Fake> = createStrategy<Fake>(name, { hashLoadEpsilon: 0.25 });
  s.rebuild(fleet);
  const keys = Array.from({ length: 10_000 }, (_, k) => `key-${k}`);
  // Attempts in flight, oldest first, in a ring buffer: each new one ends the oldest.
  const open = new Array<Fake | undefined>(inFlight).fill(undefined);
  let head = 0;
  let sink = 0;
  const started = process.hrtime.bigint();
  for (let i = 0; i < tasks; i++) {
    const done = open[head];
    if (done !== undefined) {
      done.inflight--;
      s.loadChanged?.(done, -1);
      s.observe?.(done, 1 + (i & 7));
    }
    const w = s.pick(
      canTake,
      'echo',
      name === 'consistent-hash' ? keys[i % keys.length] : undefined,
    );
    if (w !== undefined) {
      w.inflight++;
      s.loadChanged?.(w, 1);
      sink += w.inflight;
    }
    open[head] = w;
    head = head + 1 === inFlight ? 0 : head + 1;
  }
  const ns = Number(process.hrtime.bigint() - started) / tasks;
  if (sink < 0) console.log(sink);
  return Math.round(ns * 10) / 10;
}

const { values } = parseArgs({
  options: {
    workers: { type: 'string', default: '2,16,256' },
    tasks: { type: 'string', default: '2000000' },
    runs: { type: 'string', default: '5' },
  },
});
const sizes = values.workers.split(',').map(Number);
const tasks = Number(values.tasks);
const runs = Number(values.runs);
for (const workers of sizes) {
  // As many in flight as the workers hold, less a little: most picks find room, some do not.
  const inFlight = Math.max(1, workers * 190);
  const results: Record<string, number> = {};
  for (const name of STRATEGY_NAMES) measure(name, workers, tasks / 10, inFlight);
  const samples: Record<string, number[]> = Object.fromEntries(
    STRATEGY_NAMES.map((name) => [name, []]),
  );
  for (let r = 0; r < runs; r++) {
    for (const name of STRATEGY_NAMES) samples[name]!.push(measure(name, workers, tasks, inFlight));
  }
  for (const name of STRATEGY_NAMES) {
    const sorted = samples[name]!.sort((a, b) => a - b);
    results[name] = sorted[Math.floor(sorted.length / 2)]!;
  }
  console.log(JSON.stringify({ workers, inFlight, nsPerTask: results }));
}
