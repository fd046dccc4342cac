import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Dispatcher, DispatchOptions } from '@ringcast/dispatcher';

/** What `record` in test/fixtures/ledger-handlers.js returns for task key `k`. */
export function expectedValue(k: string): { k: string; h: string } {
  return { k, h: createHash('sha256').update(k).digest('hex').slice(0, 16) };
}

/** Payload of the `record` handler. */
export interface RecordPayload {
  k: string;
  ms?: number;
  pad?: string;
}

export interface Settlement {
  ok: boolean;
  value?: unknown;
  code?: string;
  /** The rejection's message, to explain unexpected codes. */
  message?: string;
  /** Milliseconds from dispatch() to settlement. */
  latencyMs: number;
  /** Settled before the event loop took its next turn after dispatch(): "at once". */
  atOnce: boolean;
}

/** One handler run, as the worker process wrote it down. */
export interface Run {
  worker: string;
  attempt: number;
  pid: number;
}

interface Entry {
  key: string;
  /** Which dispatcher it went through (scenarios with two). */
  via: string;
  dispatchedAt: number;
  settlements: Settlement[];
}

/** Every handler run the worker processes wrote to `dir`, by task key; and lines that could not be read. */
export function readRunLogs(dir: string): { runs: Map<string, Run[]>; unparsable: number } {
  const runs = new Map<string, Run[]>();
  let unparsable = 0;
  for (const file of readdirSync(dir)) {
    if (!file.endsWith('.log')) continue;
    for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
      if (line === '') continue;
      const [k, worker, attempt, pid] = line.split('\t');
      if (k === undefined || worker === undefined || attempt === undefined || pid === undefined) {
        unparsable++;
        continue;
      }
      const list = runs.get(k) ?? [];
      list.push({ worker, attempt: Number(attempt), pid: Number(pid) });
      runs.set(k, list);
    }
  }
  return { runs, unparsable };
}

/** The numbers of one scenario, as printed in the suite's table. */
export interface LedgerReport {
  scenario: string;
  tasks: number;
  lost: number;
  doubleSettled: number;
  unexpected: number;
  wrong: number;
  maxRuns: number;
  /** Settled-ok tasks with no run on record: a result nobody's handler produced. */
  okWithoutRun: number;
  /** Tasks settled with exactly one run. */
  ranOnce: number;
  errorCodes: Record<string, number>;
  /** One message per error code, to explain it. */
  errorSamples: Record<string, string>;
  /** What else the scenario measured, in a few words (durable scenarios). */
  notes?: string;
}

/**
 * The settlement ledger of one scenario: every dispatch() call and every
 * settlement, recorded from the caller's side, and every handler run, read from
 * the workers' own run logs once the scenario has drained.
 */
export class Ledger {
  readonly scenario: string;
  readonly runLogDir: string;
  readonly #entries = new Map<string, Entry>();
  /** Settlements for keys never dispatched (a promise of some other call settling for it). */
  #strays = 0;
  #runs: Map<string, Run[]> | undefined;
  #unparsable = 0;
  /** Settlements of calls the scenario made around the ledger (probes), for the counter cross-check. */
  #external = 0;

  constructor(scenario: string, runLogDir: string) {
    this.scenario = scenario;
    this.runLogDir = runLogDir;
  }

  get size(): number {
    return this.#entries.size;
  }

  get settledCount(): number {
    let n = 0;
    for (const e of this.#entries.values()) if (e.settlements.length > 0) n++;
    return n;
  }

  /** Dispatches `record` for `key` and writes down how it settles; never rejects. */
  dispatch(
    d: Dispatcher,
    key: string,
    extra: Omit<RecordPayload, 'k'> = {},
    options?: DispatchOptions,
    via = 'd',
  ): Promise<void> {
    if (this.#entries.has(key)) throw new Error(`task key ${key} dispatched twice by the suite`);
    const entry: Entry = { key, via, dispatchedAt: performance.now(), settlements: [] };
    this.#entries.set(key, entry);
    let nextTurn = false;
    setImmediate(() => {
      nextTurn = true;
    });
    const settle = (s: Omit<Settlement, 'latencyMs' | 'atOnce'>) => {
      const target = this.#entries.get(key);
      if (!target) {
        this.#strays++;
        return;
      }
      target.settlements.push({
        ...s,
        latencyMs: performance.now() - entry.dispatchedAt,
        atOnce: !nextTurn,
      });
    };
    return d.dispatch('record', { k: key, ...extra }, options).then(
      (value) => settle({ ok: true, value }),
      (error: unknown) =>
        settle({
          ok: false,
          code: (error as { code?: string }).code ?? `untyped:${error}`,
          message: String((error as Error).message),
        }),
    );
  }

  /** Counts `n` dispatch() settlements made outside the ledger, so the counter cross-check allows them. */
  noteExternal(n: number): void {
    this.#external += n;
  }

  /** Waits until every task settled, or `timeoutMs` passed (what is left is lost). */
  async drain(timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (this.settledCount < this.#entries.size && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Settlements of one task, for scenario-specific checks. */
  settlements(key: string): readonly Settlement[] {
    return this.#entries.get(key)?.settlements ?? [];
  }

  keys(via?: string): string[] {
    return [...this.#entries.values()]
      .filter((e) => via === undefined || e.via === via)
      .map((e) => e.key);
  }

  /** Reads every worker's run log; call once the workers are gone, so no run is still being written. */
  readRuns(): Map<string, Run[]> {
    const { runs, unparsable } = readRunLogs(this.runLogDir);
    this.#unparsable = unparsable;
    this.#runs = runs;
    return runs;
  }

  runs(key: string): readonly Run[] {
    if (!this.#runs) throw new Error('readRuns() first');
    return this.#runs.get(key) ?? [];
  }

  /**
   * The scenario's numbers. `dispatchers` are cross-checked: a dispatcher that
   * settled a task twice would count more settlements than the callers saw.
   */
  report(dispatchers: readonly Dispatcher[]): LedgerReport {
    const runs = this.#runs ?? this.readRuns();
    let lost = 0;
    let doubleSettled = 0;
    let wrong = 0;
    let maxRuns = 0;
    let okWithoutRun = 0;
    let ranOnce = 0;
    let settlements = 0;
    const errorCodes: Record<string, number> = {};
    const errorSamples: Record<string, string> = {};
    for (const e of this.#entries.values()) {
      const n = runs.get(e.key)?.length ?? 0;
      maxRuns = Math.max(maxRuns, n);
      settlements += e.settlements.length;
      const first = e.settlements[0];
      if (!first) {
        lost++;
        continue;
      }
      if (e.settlements.length > 1) doubleSettled++;
      if (n === 1) ranOnce++;
      if (first.ok) {
        if (JSON.stringify(first.value) !== JSON.stringify(expectedValue(e.key))) wrong++;
        if (n === 0) okWithoutRun++;
      } else {
        const code = first.code ?? 'UNKNOWN';
        errorCodes[code] = (errorCodes[code] ?? 0) + 1;
        errorSamples[code] ??=
          `${e.key}: ${first.message} (after ${Math.round(first.latencyMs)} ms)`;
      }
    }
    // Every settlement a dispatcher made is in its counters; more than the callers saw is a double settlement.
    let counted = 0;
    for (const d of dispatchers) {
      const s = d.stats();
      counted += s.settled.ok + Object.values(s.settled.error).reduce((a, b) => a + (b ?? 0), 0);
      // Calls refused before admission (QUEUE_FULL, say) settle too, counted apart.
      counted += Object.values(s.rejected).reduce((a, b) => a + (b ?? 0), 0);
    }
    if (dispatchers.length > 0)
      doubleSettled += Math.max(0, counted - settlements - this.#external);
    let unexpected = this.#strays + this.#unparsable;
    for (const key of runs.keys()) if (!this.#entries.has(key)) unexpected++;
    return {
      scenario: this.scenario,
      tasks: this.#entries.size,
      lost,
      doubleSettled,
      unexpected,
      wrong: wrong + okWithoutRun,
      maxRuns,
      okWithoutRun,
      ranOnce,
      errorCodes,
      errorSamples,
    };
  }
}

/** Formats the suite's one table. */
export function formatTable(reports: readonly LedgerReport[]): string {
  const header = [
    'scenario',
    'tasks',
    'lost',
    'double-settled',
    'unexpected',
    'wrong',
    'max runs/task',
    'error codes seen',
  ];
  const notes = reports.some((r) => r.notes !== undefined);
  if (notes) header.push('notes');
  const rows = reports.map((r) => [
    r.scenario,
    String(r.tasks),
    String(r.lost),
    String(r.doubleSettled),
    String(r.unexpected),
    String(r.wrong),
    String(r.maxRuns),
    Object.entries(r.errorCodes)
      .map(([code, n]) => `${code}×${n}`)
      .join(' ') || '-',
    ...(notes ? [r.notes ?? ''] : []),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (i === 0 || i >= 7 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  return [
    line(header),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...rows.map(line),
  ].join('\n');
}

/** Prints the suite's table under `title` and keeps it, and the rows as JSON, in `.reports/<name>.{md,json}`. */
export function publishTable(title: string, name: string, reports: readonly LedgerReport[]): void {
  if (reports.length === 0) return;
  const table = formatTable(reports);
  console.log(`\n${title}\n${table}\n`);
  mkdirSync('.reports', { recursive: true });
  writeFileSync(`.reports/${name}.md`, `${table}\n`);
  writeFileSync(`.reports/${name}.json`, `${JSON.stringify(reports, null, 2)}\n`);
}
