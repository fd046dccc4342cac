import { names } from '@ringcast/protocol';
import type { Redis } from 'ioredis';
import { type PromiseLogLine, readPromiseLog } from '../support/dispatcher-process.js';
import {
  countTerminal,
  type DurableTally,
  readTaskRecords,
  type StoredTask,
  tallyDurable,
} from '../support/durable-outcomes.js';
import { sleep } from './harness.js';
import { expectedValue, type LedgerReport, type Run, readRunLogs } from './ledger.js';

/** A durable scenario's row: the ledger's numbers, held against what Redis stored. */
export interface DurableReport extends LedgerReport {
  /** submit() calls cut short by a kill, and how many of those were stored anyway. */
  cut: number;
  cutStored: number;
  /** Submits that rejected although their task was stored. */
  rejectedStored: number;
  /** Runs beyond the first, over every task. */
  reRuns: number;
}

/** The `record` handler's output for the task's key (test/fixtures/ledger-handlers.js). */
const correct = (key: string, task: StoredTask): boolean =>
  JSON.stringify(task.result) === JSON.stringify(expectedValue(key));

/**
 * The durable ledger of one scenario: the dispatcher processes' promise logs, every
 * task record in Redis (kept with a long `resultTtlMs`), the ids heard on the settled
 * channel and the workers' run logs.
 */
export class DurableLedger {
  readonly scenario: string;
  readonly #logs: () => readonly string[];
  readonly #client: Redis;
  readonly #namespace: string;

  /** `logs`: the promise logs of the scenario's dispatcher processes, as they start. */
  constructor(scenario: string, logs: () => readonly string[], client: Redis, namespace: string) {
    this.scenario = scenario;
    this.#logs = logs;
    this.#client = client;
    this.#namespace = namespace;
  }

  #read(): PromiseLogLine[][] {
    return this.#logs().map((file) => readPromiseLog(file));
  }

  /** Promised ids so far. */
  promised(): string[] {
    const ids: string[] = [];
    for (const log of this.#read())
      for (const line of log) if (line.kind === 'p') ids.push(line.id);
    return ids;
  }

  /** Waits until every promised task has a terminal record, or `timeoutMs` passed (what is left is lost). */
  async drain(timeoutMs: number): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      const ids = this.promised();
      if ((await countTerminal(this.#client, this.#namespace, ids)) === ids.length) return;
      await sleep(50);
    }
  }

  /** Ids of `owner`'s active set: tasks it holds in Redis. */
  async activeOf(owner: string): Promise<number> {
    return this.#client.scard(names(this.#namespace).activeKey(owner));
  }

  /** Whether `owner` is registered as a dispatcher that owns durable tasks. */
  async registered(owner: string): Promise<boolean> {
    return (await this.#client.hexists(names(this.#namespace).dispatchersKey, owner)) === 1;
  }

  /** The row; call once every process is gone, so no run or record is still being written. */
  async report(
    runLogDir: string,
    settled: ReadonlyMap<string, number>,
  ): Promise<{ report: DurableReport; tally: DurableTally; runs: Map<string, Run[]> }> {
    const logs = this.#read();
    const records = await readTaskRecords(this.#client, this.#namespace);
    const tally = tallyDurable(logs, records, settled, correct);
    const { runs, unparsable } = readRunLogs(runLogDir);
    const tried = new Set(logs.flatMap((log) => log.map((line) => line.key)));
    let maxRuns = 0;
    let reRuns = 0;
    let ranOnce = 0;
    let okWithoutRun = 0;
    for (const [id, key] of tally.keys) {
      const n = runs.get(key)?.length ?? 0;
      maxRuns = Math.max(maxRuns, n);
      reRuns += Math.max(0, n - 1);
      if (n === 1) ranOnce++;
      if (n === 0 && records.get(id)?.state === 'succeeded') okWithoutRun++;
    }
    let strayRuns = 0;
    for (const key of runs.keys()) if (!tried.has(key)) strayRuns++;
    const report: DurableReport = {
      scenario: this.scenario,
      tasks: tally.promised,
      lost: tally.lost.length,
      doubleSettled: tally.doubleSettled.length,
      unexpected: tally.unexpected.length + strayRuns + unparsable,
      wrong: tally.wrong.length + okWithoutRun,
      maxRuns,
      okWithoutRun,
      ranOnce,
      errorCodes: tally.failed,
      errorSamples: {},
      cut: tally.cut,
      cutStored: tally.cutStored,
      rejectedStored: tally.rejectedStored.length,
      reRuns,
    };
    return { report, tally, runs };
  }
}
