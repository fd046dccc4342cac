// The durable half of the fault-injection suite (issue 16): dispatchers in processes of
// their own (test/fixtures/durable-dispatcher.js) submit durable tasks and write down each
// submit() that resolved; they, the workers and Redis are killed and paused for real. At
// the end every promised task must have exactly one stored terminal state, with its
// handler's output, published once on the settled channel. Prints one table, like the
// non-durable suite; `npm run faults -- --tasks N` scales both.
import type { DispatcherStats } from '@ringcast/dispatcher';
import { names } from '@ringcast/protocol';
import { afterAll, describe, expect, it } from 'vitest';
import type { DispatcherProcess, SpawnDispatcherOptions } from '../support/dispatcher-process.js';
import { readTaskRecords, SettledCounter } from '../support/durable-outcomes.js';
import { privateRedisAvailable } from '../support/redis.js';
import { DurableLedger, type DurableReport } from './durable-ledger.js';
import { type Expectations, expectClean, scenario } from './expectations.js';
import {
  CALM,
  DISPATCHER_DEFAULTS,
  KILL_ATTEMPTS,
  RATE_PER_SEC,
  type Scenario,
  sleep,
  TASKS,
  until,
} from './harness.js';
import { publishTable } from './ledger.js';

const reports: DurableReport[] = [];
const SCENARIO_TIMEOUT_MS = 90_000 + (TASKS / RATE_PER_SEC) * 4_000;

/** Short, so a dead owner's heartbeat lapses in 3 × 200 ms and adoption shows within a scenario. */
const OWNER_HEARTBEAT_MS = 200;
const OWNER_TTL_MS = 3 * OWNER_HEARTBEAT_MS;
/** A re-send by the adopter may follow a run the dead owner started. */
const ADOPTION_ATTEMPTS = DISPATCHER_DEFAULTS.maxAttempts + 1;
/** How long adoption may take on a loaded 2-core machine before the scenario fails. */
const ADOPTION_TIMEOUT_MS = 15_000;

/** What every dispatcher process of these scenarios shares. */
const DURABLE = {
  workers: 3,
  rate: RATE_PER_SEC,
  options: { ownerHeartbeatMs: OWNER_HEARTBEAT_MS },
  // Records outlive the scenario, so the ledger reads every outcome.
  submitOptions: { resultTtlMs: 3_600_000 },
  // Long enough that a kill finds tasks running.
  payload: { ms: 40 },
} satisfies Partial<SpawnDispatcherOptions>;

interface Run {
  ledger: DurableLedger;
  settled: SettledCounter;
  startedAt: number;
}

interface Figures {
  /** Dispatcher processes the scenario killed itself. */
  killedDispatchers?: readonly DispatcherProcess[];
  adoptionMs?: number;
  /** Active tasks the dead or paused dispatcher held in Redis when it stopped. */
  stranded?: number;
  /** More for the notes column. */
  more?: string;
}

/** Subscribes to the settled channel and opens the ledger, before any dispatcher process starts. */
async function durable(s: Scenario): Promise<Run> {
  const settled = await SettledCounter.start(s.client(), s.ns);
  const logs = () => s.dispatcherProcesses.map((p) => p.log);
  return {
    ledger: new DurableLedger(s.name, logs, s.client(), s.ns),
    settled,
    startedAt: Date.now(),
  };
}

async function threeWorkers(s: Scenario, extra: Parameters<Scenario['worker']>[1] = {}) {
  return Promise.all(['w1', 'w2', 'w3'].map((id) => s.worker(id, { concurrency: 32, ...extra })));
}

/** Dispatcher processes `a` and `b`, each submitting TASKS at half the rate. */
function twoSubmitting(s: Scenario): Promise<DispatcherProcess[]> {
  return Promise.all(
    ['a', 'b'].map((name) =>
      s.dispatcherProcess(name, {
        ...DURABLE,
        tasks: TASKS,
        prefix: `${name}-`,
        rate: RATE_PER_SEC / 2,
      }),
    ),
  );
}

/** Milliseconds from `from` until `dead` is no longer registered and owns no active task. */
async function adoption(run: Run, dead: DispatcherProcess, from: number): Promise<number> {
  await until(
    async () =>
      !(await run.ledger.registered(dead.id)) && (await run.ledger.activeOf(dead.id)) === 0,
    ADOPTION_TIMEOUT_MS,
    `the tasks of dispatcher ${dead.id} to be adopted`,
  );
  return Date.now() - from;
}

/**
 * Waits for every promised task to finish, stops the dispatcher processes (SIGTERM: their
 * stats) and the workers, reads Redis, the promise logs and the run logs, records the row,
 * asserts. Resolves with each stopped process's stats.
 */
async function settle(
  s: Scenario,
  run: Run,
  x: Expectations = {},
  figures: Figures = {},
): Promise<{ report: DurableReport; stats: Map<DispatcherProcess, DispatcherStats | undefined> }> {
  await run.ledger.drain(x.drainMs ?? DISPATCHER_DEFAULTS.timeoutMs + 10_000);
  const seconds = (Date.now() - run.startedAt) / 1000;
  const killed = new Set(figures.killedDispatchers ?? []);
  const exits = s.unexpectedExits(x.killed);
  const stats = new Map<DispatcherProcess, DispatcherStats | undefined>();
  for (const p of s.dispatcherProcesses) {
    if (killed.has(p)) continue;
    if (p.child.exitCode !== null || p.child.signalCode !== null) {
      exits.push(`dispatcher ${p.id} (pid ${p.pid}) exited: ${p.output().slice(-2000)}`);
    }
  }
  await Promise.all(
    s.dispatcherProcesses
      .filter((p) => !killed.has(p))
      .map(async (p) => stats.set(p, await p.stop())),
  );
  await s.killWorkers();
  const { report, tally } = await run.ledger.report(s.runLogDir, run.settled.counts);
  const notes = [`${seconds.toFixed(1)} s`, `re-runs ${report.reRuns}`];
  if (figures.stranded !== undefined) notes.push(`stranded ${figures.stranded}`);
  if (figures.adoptionMs !== undefined) notes.push(`adopted in ${figures.adoptionMs} ms`);
  if (report.cut > 0) notes.push(`cut ${report.cut} (${report.cutStored} stored)`);
  if (figures.more) notes.push(figures.more);
  report.notes = notes.join(', ');
  reports.push(report);
  const outputs = s.dispatcherProcesses.map((p) => `--- ${p.id}:\n${p.output().slice(-1500)}`);
  const context = `${s.name}: ${JSON.stringify(report)}\nlost ${JSON.stringify(tally.lostStates)} ${tally.lost.slice(0, 5)} wrong ${tally.wrong.slice(0, 5)} twice ${tally.doubleSettled.slice(0, 5)} unexpected ${tally.unexpected.slice(0, 5)} rejected-but-stored ${tally.rejectedStored.slice(0, 5)}\n${outputs.join('\n')}`;
  expect(exits, context).toEqual([]);
  expectClean(report, x, context);
  expect(report.rejectedStored, context).toBe(0);
  if (x.exactlyOnce) expect(report.ranOnce, context).toBe(report.tasks);
  return { report, stats };
}

describe.skipIf(!privateRedisAvailable)(
  'durable fault injection: every promised task reaches one terminal state',
  () => {
    afterAll(() =>
      publishTable(
        `ringcast durable fault-injection suite (${TASKS} tasks or more per scenario)`,
        'durable-faults',
        reports,
      ),
    );

    it(
      'D1. kill -9 a dispatcher mid-run while a second one lives: the live one adopts its tasks',
      () =>
        scenario('D1 kill -9 dispatcher, 2nd alive', async (s) => {
          await threeWorkers(s, CALM);
          const run = await durable(s);
          const [a, b] = await twoSubmitting(s);
          await until(() => a!.promisedCount() >= TASKS / 2, 30_000, "half of a's tasks");
          await a!.kill('SIGKILL');
          const killedAt = Date.now();
          const stranded = await run.ledger.activeOf(a!.id);
          const adoptionMs = await adoption(run, a!, killedAt);
          await b!.submitted;
          await settle(
            s,
            run,
            { attemptLimit: ADOPTION_ATTEMPTS },
            { killedDispatchers: [a!], adoptionMs, stranded },
          );
          expect(stranded, 'the kill must find tasks running').toBeGreaterThan(0);
        }),
      SCENARIO_TIMEOUT_MS,
    );

    it(
      'D2. kill -9 the only dispatcher, start another 2 s later: it adopts at start and finishes',
      () =>
        scenario('D2 kill -9 only dispatcher', async (s) => {
          await threeWorkers(s, CALM);
          const run = await durable(s);
          const a = await s.dispatcherProcess('a', { ...DURABLE, tasks: TASKS, prefix: 'a-' });
          await until(() => a.promisedCount() >= TASKS / 2, 30_000, "half of a's tasks");
          await a.kill('SIGKILL');
          const stranded = await run.ledger.activeOf(a.id);
          await sleep(2_000);
          const restartedAt = Date.now();
          const b = await s.dispatcherProcess('b', {
            ...DURABLE,
            tasks: TASKS - a.promisedCount(),
            prefix: 'b-',
          });
          const adoptionMs = await adoption(run, a, restartedAt);
          await b.submitted;
          await settle(
            s,
            run,
            { attemptLimit: ADOPTION_ATTEMPTS },
            { killedDispatchers: [a], adoptionMs, stranded },
          );
          expect(stranded, 'the kill must find tasks running').toBeGreaterThan(0);
        }),
      SCENARIO_TIMEOUT_MS,
    );

    it(
      'D3. kill -9 redis-server (AOF, appendfsync always) mid-run and restart it: nothing promised is lost',
      () =>
        scenario(
          'D3 kill -9 redis (AOF)',
          async (s) => {
            await threeWorkers(s);
            const run = await durable(s);
            const probe = s.client();
            const a = await s.dispatcherProcess('a', { ...DURABLE, tasks: TASKS, prefix: 'a-' });
            let restarts = 0;
            let feeding = true;
            // Records only grow here (finished ones are kept an hour): a restart that lost any shows.
            const shrunk: string[] = [];
            const chaos = (async () => {
              while (feeding || restarts < 3) {
                await sleep(700);
                const before = (await readTaskRecords(probe, s.ns)).size;
                await s.redis.restart();
                const after = (await readTaskRecords(probe, s.ns)).size;
                if (after < before) shrunk.push(`${before} → ${after}`);
                restarts++;
              }
            })();
            await a.submitted;
            feeding = false;
            await chaos;
            await settle(
              s,
              run,
              { attemptLimit: ADOPTION_ATTEMPTS },
              { more: `${restarts} restarts` },
            );
            expect(restarts).toBeGreaterThanOrEqual(3);
            expect(shrunk, 'records lost across a restart').toEqual([]);
          },
          ['--appendonly', 'yes', '--appendfsync', 'always'],
          true,
        ),
      SCENARIO_TIMEOUT_MS,
    );

    it(
      'D4. kill -9 a worker and restart it every 250 ms while durable tasks run',
      () =>
        scenario('D4 kill -9 workers, durable', async (s) => {
          await threeWorkers(s);
          const run = await durable(s);
          const a = await s.dispatcherProcess('a', {
            ...DURABLE,
            tasks: TASKS,
            options: { ...DURABLE.options, maxAttempts: KILL_ATTEMPTS },
          });
          let feeding = true;
          const chaos = s.workerKillLoop(250, () => feeding);
          await a.submitted;
          feeding = false;
          const killed = await chaos;
          await settle(s, run, { killed, attemptLimit: KILL_ATTEMPTS });
          expect(killed.size).toBeGreaterThanOrEqual(3);
        }),
      SCENARIO_TIMEOUT_MS,
    );

    it(
      'D5. three dispatchers submit into one backlog and drain it: each task claimed and run once',
      () =>
        scenario('D5 three dispatchers, one backlog', async (s) => {
          // Less room than the three submit: a backlog builds, and all three draw from it.
          await Promise.all(['w1', 'w2'].map((id) => s.worker(id, { ...CALM, concurrency: 4 })));
          const run = await durable(s);
          const backlog = names(s.ns).backlogKey;
          const probe = s.client();
          let deepest = 0;
          const sampler = setInterval(() => {
            void probe.zcard(backlog).then((n) => {
              deepest = Math.max(deepest, n);
            });
          }, 20);
          const each = Math.ceil(TASKS / 3);
          const submitters = await Promise.all(
            ['a', 'b', 'c'].map((name) =>
              s.dispatcherProcess(name, {
                ...DURABLE,
                workers: 2,
                tasks: each,
                prefix: `${name}-`,
                rate: RATE_PER_SEC / 2,
                payload: { ms: 10 },
              }),
            ),
          );
          try {
            await Promise.all(submitters.map((p) => p.submitted));
          } finally {
            clearInterval(sampler);
          }
          const { report, stats } = await settle(s, run, { exactlyOnce: true });
          expect(deepest, 'a backlog must build').toBeGreaterThan(0);
          const claimed = submitters.map((p) => stats.get(p)?.durable.claimed ?? 0);
          for (const n of claimed) expect(n, JSON.stringify(claimed)).toBeGreaterThan(0);
          // A claim given back (no worker had room at that moment) counts again when taken again.
          expect(claimed.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(report.tasks);
        }),
      SCENARIO_TIMEOUT_MS,
    );

    it(
      'D6. SIGSTOP a dispatcher past its owner TTL and resume it: its tasks are adopted, its late writes fenced',
      () =>
        scenario('D6 SIGSTOP dispatcher > TTL', async (s) => {
          await threeWorkers(s, CALM);
          const run = await durable(s);
          const [a, b] = await twoSubmitting(s);
          await until(() => a!.promisedCount() >= TASKS / 4, 30_000, "a quarter of a's tasks");
          a!.pause();
          const pausedAt = Date.now();
          const stranded = await run.ledger.activeOf(a!.id);
          let adoptionMs: number;
          try {
            adoptionMs = await adoption(run, a!, pausedAt);
            // Past the TTL for good, so its own timers all come due at once on resume.
            await sleep(OWNER_TTL_MS);
          } finally {
            a!.resume();
          }
          await Promise.all([a!.submitted, b!.submitted]);
          const { stats } = await settle(
            s,
            run,
            { attemptLimit: ADOPTION_ATTEMPTS },
            { adoptionMs, stranded },
          );
          expect(stranded, 'the pause must find tasks running').toBeGreaterThan(0);
          const fenced = stats.get(a!)?.durable;
          expect(
            // Refused by the store: the task was another owner's, or finished by it already.
            (fenced?.staleSettles ?? 0) + (fenced?.lateWrites ?? 0) + (fenced?.dropped ?? 0),
            `the paused dispatcher's late writes must be fenced: ${JSON.stringify(fenced)}`,
          ).toBeGreaterThan(0);
        }),
      SCENARIO_TIMEOUT_MS,
    );
  },
);
