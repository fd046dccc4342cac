// What every fault scenario asserts about its ledger row, and how a scenario runs, shared by
// faults.test.ts, durable-faults.test.ts, auth-faults.test.ts and the cluster suite.
import { expect } from 'vitest';
import type { RedisCluster } from '../support/redis-server.js';
import type { WorkerProcess } from '../support/workers.js';
import { CALM, DISPATCHER_DEFAULTS, Scenario, TASKS } from './harness.js';
import type { LedgerReport } from './ledger.js';

export interface Expectations {
  /** Error codes the scenario's fault explains; any other fails it. */
  allowed?: readonly string[];
  /** No fault: every task that settled ok ran exactly once. */
  exactlyOnce?: boolean;
  /** Most runs a task may have; the attempt limit (maxAttempts + retries, retries being 0 here). */
  attemptLimit?: number;
  /** Worker processes the scenario killed itself. */
  killed?: ReadonlySet<WorkerProcess>;
  /** How long the drain may take. */
  drainMs?: number;
}

/** Lost, double-settled, unexpected and wrong are 0, runs within the limit, every error code explained. */
export function expectClean(report: LedgerReport, x: Expectations, context: string): void {
  expect(report.tasks, context).toBeGreaterThanOrEqual(TASKS);
  expect(report.lost, context).toBe(0);
  expect(report.doubleSettled, context).toBe(0);
  expect(report.unexpected, context).toBe(0);
  expect(report.wrong, context).toBe(0);
  expect(report.maxRuns, context).toBeLessThanOrEqual(
    x.attemptLimit ?? DISPATCHER_DEFAULTS.maxAttempts,
  );
  if (x.exactlyOnce) expect(report.maxRuns, context).toBe(1);
  const allowed = new Set(x.allowed ?? []);
  for (const code of Object.keys(report.errorCodes)) {
    expect(allowed.has(code), `${code} is not explained by the scenario; ${context}`).toBe(true);
  }
}

/**
 * Drains the ledger, stops the workers, reads their run logs, adds the row to
 * `reports`, and asserts it is clean (see {@link expectClean}).
 */
export async function settleScenario(
  s: Scenario,
  reports: LedgerReport[],
  x: Expectations = {},
): Promise<LedgerReport> {
  await s.ledger.drain(x.drainMs ?? DISPATCHER_DEFAULTS.timeoutMs + 5_000);
  const exits = s.unexpectedExits(x.killed);
  await s.killWorkers();
  s.ledger.readRuns();
  const report = s.ledger.report(s.dispatchers);
  reports.push(report);
  const context = `${s.name}: ${JSON.stringify(report)}\n${s.logs.slice(-40).join('\n')}`;
  expect(exits, context).toEqual([]);
  expectClean(report, x, context);
  if (x.exactlyOnce) {
    const ok = s.ledger.keys().filter((k) => s.ledger.settlements(k)[0]?.ok);
    expect(
      ok.filter((k) => s.ledger.runs(k).length !== 1),
      context,
    ).toEqual([]);
  }
  return report;
}

/** Runs `body` on a fresh scenario, removes its run logs if it passed, and stops everything it started. */
export async function scenario(
  name: string,
  body: (s: Scenario) => Promise<void>,
  redisArgs: string[] = [],
  persist = false,
): Promise<void> {
  await runScenario(await Scenario.start(name, redisArgs, persist), body);
}

/** {@link scenario} on `cluster` (which the caller started and stops), in namespace `ns` if given. */
export async function clusterScenario(
  name: string,
  cluster: RedisCluster,
  body: (s: Scenario) => Promise<void>,
  ns?: string,
): Promise<void> {
  await runScenario(Scenario.onCluster(name, cluster, ns), body);
}

async function runScenario(s: Scenario, body: (s: Scenario) => Promise<void>): Promise<void> {
  try {
    await body(s);
    s.removeRunLogs();
  } finally {
    await s.close();
  }
}

/**
 * The no-fault scenario (the first of each suite): three calm workers, one
 * dispatcher, every task settles and runs exactly once, nothing is redelivered.
 */
export async function expectNoFaultExactlyOnce(
  s: Scenario,
  reports: LedgerReport[],
): Promise<void> {
  await s.threeWorkers(CALM);
  const d = await s.dispatcher();
  await s.routable(d, 3);
  await s.feed(d, TASKS);
  await settleScenario(s, reports, { exactlyOnce: true });
  expect(d.stats().redelivered).toBe(0);
}
