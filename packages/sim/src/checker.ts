/**
 * The simulator's referee. It hears every `dispatch()` call, every settlement,
 * every handler run and every injected fault, and says which of ringcast's
 * invariants a run broke: some as they happen (a second settlement), the rest
 * when the run ends (a call never settled, a value that is not the handler's
 * output for that call, more runs than the attempt bound allows, a run more
 * than once with no fault to explain it, a late result of a fenced-off attempt).
 */

/** What a simulated handler returns: enough for the checker to tell whose output it is. */
export interface HandlerOutput {
  call: number;
  attempt: number;
  echo: string;
}

export type Outcome = { ok: true; value: unknown } | { ok: false; code: string; message: string };

interface Call {
  readonly id: number;
  readonly echo: string;
  /** Most runs the documented bound allows: `maxAttempts + retries`. */
  readonly bound: number;
  readonly dispatchedAt: number;
  settledAt: number | undefined;
  outcome: Outcome | undefined;
  runs: number;
  /** Highest attempt number any run of it saw. */
  maxAttempt: number;
  /** Runs that ended in a retryable error the handler threw on purpose. */
  retryableErrors: number;
  /** Attempt numbers that ran; an attempt that ran twice is a re-sent attempt run again. */
  attempts: Set<number>;
  rerunAttempts: number[];
}

export class Checker {
  readonly #calls = new Map<number, Call>();
  readonly #violations: string[] = [];
  readonly #faults: Array<{ kind: string; at: number; until: number }> = [];
  #closedAt: number | undefined;

  /** A `dispatch()` call was made. */
  dispatched(call: number, echo: string, bound: number, at: number): void {
    if (this.#calls.has(call)) this.#violation(`call ${call} was dispatched twice`);
    this.#calls.set(call, {
      id: call,
      echo,
      bound,
      dispatchedAt: at,
      settledAt: undefined,
      outcome: undefined,
      runs: 0,
      maxAttempt: 0,
      retryableErrors: 0,
      attempts: new Set(),
      rerunAttempts: [],
    });
  }

  /** The promise of a call settled. */
  settled(call: number, outcome: Outcome, at: number): void {
    const record = this.#calls.get(call);
    if (!record) {
      this.#violation(`call ${call} settled but was never dispatched`);
      return;
    }
    if (record.outcome) {
      this.#violation(
        `call ${call} settled twice: first ${describe(record.outcome)}, then ${describe(outcome)}`,
      );
      return;
    }
    if (this.#closedAt !== undefined && at > this.#closedAt) {
      this.#violation(`call ${call} settled at ${at}, after close() resolved at ${this.#closedAt}`);
    }
    record.outcome = outcome;
    record.settledAt = at;
  }

  /** A handler started running an attempt of a call. */
  ran(call: number, attempt: number): void {
    const record = this.#calls.get(call);
    if (!record) {
      this.#violation(`a handler ran call ${call}, which was never dispatched`);
      return;
    }
    record.runs++;
    record.maxAttempt = Math.max(record.maxAttempt, attempt);
    if (record.attempts.has(attempt)) record.rerunAttempts.push(attempt);
    record.attempts.add(attempt);
  }

  /** A run of the call threw a retryable error on purpose. */
  retryableError(call: number): void {
    const record = this.#calls.get(call);
    if (record) record.retryableErrors++;
  }

  /**
   * A fault was injected at `at`; its effects can explain a second run until
   * `until` (a cut connection's duration plus the time the cores take to notice).
   */
  fault(kind: string, at: number, until = at): void {
    this.#faults.push({ kind, at, until });
  }

  /** The dispatcher's close() resolved: nothing may settle after this. */
  closed(at: number): void {
    this.#closedAt = at;
  }

  /** Calls not settled yet. */
  get pending(): number {
    let n = 0;
    for (const call of this.#calls.values()) if (!call.outcome) n++;
    return n;
  }

  get calls(): number {
    return this.#calls.size;
  }

  /** How the calls ended, by outcome (`ok` or the error code). */
  outcomes(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const call of this.#calls.values()) {
      const key = call.outcome ? (call.outcome.ok ? 'ok' : call.outcome.code) : 'pending';
      counts[key] = (counts[key] ?? 0) + 1;
    }
    return counts;
  }

  /** Every violation so far and those only the end of a run can show. */
  finish(): string[] {
    for (const call of this.#calls.values()) this.#check(call);
    return [...this.#violations];
  }

  #check(call: Call): void {
    const { outcome } = call;
    if (!outcome) {
      this.#violation(`call ${call.id} never settled (dispatched at ${call.dispatchedAt})`);
      return;
    }
    if (call.runs > call.bound) {
      const rerun =
        call.rerunAttempts.length > 0
          ? ` (attempt ${call.rerunAttempts.join(', ')} ran more than once: a re-sent attempt ran again)`
          : '';
      this.#violation(
        `call ${call.id} ran ${call.runs} times, over its bound of ${call.bound}${rerun}`,
      );
    }
    if (call.runs > 1 + call.retryableErrors && !this.#faultBetween(call)) {
      this.#violation(
        `call ${call.id} ran ${call.runs} times with ${call.retryableErrors} retryable error(s) and no fault to explain it`,
      );
    }
    if (!outcome.ok) return;
    if (call.runs === 0) this.#violation(`call ${call.id} settled ok but never ran`);
    const value = outcome.value as Partial<HandlerOutput> | null;
    if (
      value === null ||
      typeof value !== 'object' ||
      value.call !== call.id ||
      value.echo !== call.echo
    ) {
      this.#violation(
        `call ${call.id} settled with ${JSON.stringify(value)}, not its handler's output`,
      );
      return;
    }
    if ((value.attempt ?? 0) < call.maxAttempt) {
      this.#violation(
        `call ${call.id} settled with the result of attempt ${value.attempt} after attempt ${call.maxAttempt} ran: a fenced-off result was delivered`,
      );
    }
  }

  #faultBetween(call: Call): boolean {
    const end = call.settledAt ?? Number.POSITIVE_INFINITY;
    return this.#faults.some((f) => f.until >= call.dispatchedAt && f.at <= end);
  }

  #violation(message: string): void {
    this.#violations.push(message);
  }
}

function describe(outcome: Outcome): string {
  return outcome.ok ? 'ok' : `${outcome.code} (${outcome.message})`;
}
