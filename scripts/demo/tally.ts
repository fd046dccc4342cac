// What the demo counts while tasks settle, and the table it prints at the end.

/** What the demo's `digest` handler returns (see handlers.js). */
export interface DigestResult {
  seq: number;
  digest: string;
  worker: string;
  attempt: number;
  run: string;
  ms: number;
}

export interface WorkerRow {
  id: string;
  weight: number;
  /** 'killed' or 'replacement', for the note column. */
  role?: 'killed' | 'replacement';
}

const number = new Intl.NumberFormat('en-US');

function isDigestResult(value: unknown): value is DigestResult {
  const r = value as Partial<DigestResult> | null;
  return (
    typeof r === 'object' &&
    r !== null &&
    typeof r.seq === 'number' &&
    typeof r.worker === 'string' &&
    typeof r.attempt === 'number' &&
    typeof r.ms === 'number'
  );
}

/** Nearest-rank percentile of unsorted samples; NaN when there are none. */
export function percentile(samples: ArrayLike<number>, p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = Float64Array.from(samples).sort();
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

function ms(value: number): string {
  if (Number.isNaN(value)) return '-';
  return value < 10 ? `${value.toFixed(1)} ms` : `${Math.round(value)} ms`;
}

function percent(fraction: number): string {
  return `${(fraction * 100).toFixed(1)}%`;
}

export class Tally {
  readonly total: number;
  /** Settlements per task: anything above 1 is a duplicate. */
  readonly #settlements: Uint8Array;
  readonly #endToEnd: Float64Array;
  readonly #handlerMs = new Map<string, number[]>();
  readonly #errors = new Map<string, number>();
  #done = 0;
  #ok = 0;
  #duplicates = 0;
  #foreign = 0;

  constructor(total: number) {
    this.total = total;
    this.#settlements = new Uint8Array(total);
    this.#endToEnd = new Float64Array(total);
  }

  get done(): number {
    return this.#done;
  }

  /** Tasks that did not settle with their own result: rejected, or never settled. */
  get lost(): number {
    return this.total - this.#ok;
  }

  get duplicates(): number {
    return this.#duplicates;
  }

  /** Records one settlement of task `seq`; returns false if the task had settled before. */
  #settle(seq: number): boolean {
    const seen = this.#settlements[seq]!;
    this.#settlements[seq] = Math.min(seen + 1, 255);
    if (seen > 0) {
      this.#duplicates++;
      return false;
    }
    this.#done++;
    return true;
  }

  resolved(seq: number, value: unknown, elapsedMs: number): void {
    if (!this.#settle(seq)) return;
    this.#endToEnd[seq] = elapsedMs;
    if (!isDigestResult(value) || value.seq !== seq) {
      // Another task's result, or not a result of ours: as good as lost.
      this.#foreign++;
      return;
    }
    this.#ok++;
    let samples = this.#handlerMs.get(value.worker);
    if (!samples) {
      samples = [];
      this.#handlerMs.set(value.worker, samples);
    }
    samples.push(value.ms);
  }

  rejected(seq: number, error: unknown, elapsedMs: number): void {
    if (!this.#settle(seq)) return;
    this.#endToEnd[seq] = elapsedMs;
    const code =
      typeof error === 'object' && error !== null && 'code' in error
        ? String(error.code)
        : 'UNEXPECTED';
    this.#errors.set(code, (this.#errors.get(code) ?? 0) + 1);
  }

  /** The final table, as lines. */
  report(workers: readonly WorkerRow[], elapsedMs: number, redeliveries: number): string[] {
    const slots = workers.filter((w) => w.role !== 'replacement');
    const totalWeight = slots.reduce((sum, w) => sum + w.weight, 0);
    const killed = workers.find((w) => w.role === 'killed');
    const header = [
      'worker',
      'weight',
      'tasks',
      'share',
      'weight share',
      'p50 handler',
      'p99 handler',
    ];
    const rows = workers.map((w) => {
      const samples = this.#handlerMs.get(w.id) ?? [];
      const note = w.role === 'killed' ? ' (killed)' : w.role === 'replacement' ? ' (fresh)' : '';
      const expected = w.role ? '*' : percent(w.weight / totalWeight);
      return [
        `${w.id}${note}`,
        String(w.weight),
        number.format(samples.length),
        percent(samples.length / this.total),
        expected,
        ms(percentile(samples, 50)),
        ms(percentile(samples, 99)),
      ];
    });
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (cells: string[]) =>
      `  ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('   ')}`;
    const out = [line(header), `  ${'─'.repeat(widths.reduce((a, b) => a + b + 3, -3))}`];
    for (const row of rows) out.push(line(row));
    if (killed) {
      const pair = workers.filter((w) => w.role);
      const handled = pair.reduce((sum, w) => sum + (this.#handlerMs.get(w.id)?.length ?? 0), 0);
      out.push(
        `  * ${pair.map((w) => w.id).join(' and ')} shared one weight-${killed.weight} slot: ` +
          `${percent(handled / this.total)} of tasks together, weight share ${percent(killed.weight / totalWeight)}`,
      );
    }
    const rate = this.#done / (elapsedMs / 1000);
    const e2e = this.#endToEnd.subarray(0, this.total);
    out.push('');
    out.push(
      `  ${number.format(this.#done)} tasks in ${(elapsedMs / 1000).toFixed(1)} s: ` +
        `${number.format(Math.round(rate))} tasks/s, end-to-end p50 ${ms(percentile(e2e, 50))}, p99 ${ms(percentile(e2e, 99))}`,
    );
    out.push(
      `  redeliveries ${number.format(redeliveries)}   lost ${number.format(this.lost)}   duplicates ${number.format(this.#duplicates)}`,
    );
    if (this.#errors.size > 0 || this.#foreign > 0) {
      const parts = [...this.#errors].map(([code, n]) => `${code} ${n}`);
      if (this.#foreign > 0) parts.push(`wrong result ${this.#foreign}`);
      out.push(`  lost tasks by cause: ${parts.join(', ')}`);
    }
    return out;
  }
}
