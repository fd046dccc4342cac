/**
 * The simulator's referee. It hears every `dispatch()` call, every settlement,
 * every handler run and every injected fault, and says which of ringcast's
 * invariants a run broke: some as they happen (a second settlement), the rest
 * when the run ends (a call never settled, a value that is not the handler's
 * output for that call, more runs than the attempt bound allows, a run more
 * than once with no fault to explain it, a late result of a fenced-off attempt).
 *
 * A durable call (`submit()`) settles in Redis, not in a promise: its outcome is
 * the task's terminal record, which the run reads back ({@link Checker.stored}).
 * Every task whose `submit()` resolved must reach exactly one terminal record
 * (lost: none; open: never finished), written once (one publication on the
 * settled channel); `result()` must answer what the record holds. A dispatcher
 * that dies or stalls may cost a task one more run per such fault.
 */

/** What a simulated handler returns: enough for the checker to tell whose output it is. */
export interface HandlerOutput {
  call: number;
  attempt: number;
  echo: string;
}

export type Outcome = { ok: true; value: unknown } | { ok: false; code: string; message: string };

/** Where a durable call's `submit()` stands. */
type Submit = 'pending' | 'resolved' | 'rejected';

interface Call {
  readonly id: number;
  readonly echo: string;
  readonly durable: boolean;
  submit: Submit;
  /** The durable task's id, once `submit()` resolved (or a record names the call). */
  taskId: string | undefined;
  /** Its record exists but is not terminal (durable), as the last sweep saw it. */
  openState: string | undefined;
  /** Its dispatcher died before it settled: no settlement is owed (its runs still count). */
  abandoned: boolean;
  /** What `result(id)` calls answered. */
  heard: Outcome[];
  /** Whether `cancel(id)` was called for it (durable). */
  cancelRequested: boolean;
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
  readonly #faults: Array<{ kind: string; at: number; until: number; ownership: boolean }> = [];
  /** Publications on the settled channel, by task id. */
  readonly #published = new Map<string, number>();
  /** When each task's first publication was heard (world time): its settlement time. */
  readonly #heardAt = new Map<string, number>();
  #closedAt: number | undefined;

  /** A `dispatch()` call was made (a `submit()` if `durable`). */
  dispatched(call: number, echo: string, bound: number, at: number, durable = false): void {
    if (this.#calls.has(call)) this.#violation(`call ${call} was dispatched twice`);
    this.#calls.set(call, {
      id: call,
      echo,
      durable,
      submit: 'pending',
      taskId: undefined,
      openState: undefined,
      abandoned: false,
      heard: [],
      cancelRequested: false,
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

  /** A durable call's `submit()` resolved with `taskId`: the task is promised. */
  submitted(call: number, taskId: string): void {
    const record = this.#calls.get(call);
    if (!record) return;
    record.submit = 'resolved';
    if (record.taskId !== undefined && record.taskId !== taskId) {
      this.#violation(
        `call ${call} is stored as ${record.taskId}, but submit() resolved ${taskId}`,
      );
    }
    record.taskId = taskId;
  }

  /**
   * A durable call's `submit()` rejected. Nothing is promised; a record may still
   * exist (the write applied, its reply lost), and then it must finish like any.
   */
  submitFailed(call: number, outcome: Outcome, at: number): void {
    const record = this.#calls.get(call);
    if (!record) return;
    record.submit = 'rejected';
    if (!record.outcome) {
      record.outcome = outcome;
      record.settledAt = at;
    }
  }

  /** The dispatcher of an unsettled call died: its promise never settles. */
  abandoned(call: number): void {
    const record = this.#calls.get(call);
    if (record && !record.outcome) record.abandoned = true;
  }

  /** Durable calls whose task id is known and whose record was not seen terminal yet. */
  awaitingRecords(): Array<{ call: number; taskId: string }> {
    const out: Array<{ call: number; taskId: string }> = [];
    for (const c of this.#calls.values()) {
      if (c.durable && c.taskId !== undefined && (c.openState !== undefined || !c.outcome)) {
        out.push({ call: c.id, taskId: c.taskId });
      }
    }
    return out;
  }

  /**
   * A durable call's task record, as read back from Redis: `state` and, once
   * terminal, its outcome. Two records for one call is a task stored twice.
   */
  stored(
    call: number,
    taskId: string,
    state: string,
    outcome: Outcome | undefined,
    at: number,
  ): void {
    const record = this.#calls.get(call);
    if (!record?.durable) {
      this.#violation(`task ${taskId} names call ${call}, which made no submit()`);
      return;
    }
    if (record.taskId !== undefined && record.taskId !== taskId) {
      this.#violation(`call ${call} was stored twice: as ${record.taskId} and as ${taskId}`);
      return;
    }
    record.taskId = taskId;
    if (!outcome) {
      record.openState = state;
      return;
    }
    if (record.openState === undefined && record.outcome && record.submit !== 'rejected') return;
    record.openState = undefined;
    // A rejected submit's error gives way to the record: the task was stored after all.
    record.outcome = outcome;
    // Dated when its announcement was heard, if it was: a sweep reads it later, and a
    // later date would let more faults explain its runs.
    record.settledAt = this.#heardAt.get(taskId) ?? at;
  }

  /** A terminal write announced `taskId` on the settled channel, heard at `at` (world time). */
  published(taskId: string, at: number): void {
    if (!this.#heardAt.has(taskId)) this.#heardAt.set(taskId, at);
    const n = (this.#published.get(taskId) ?? 0) + 1;
    this.#published.set(taskId, n);
    if (n === 2) this.#violation(`task ${taskId}'s terminal state was written twice`);
  }

  /** `cancel(id)` was called for a durable call. */
  cancelCalled(call: number): void {
    const record = this.#calls.get(call);
    if (record) record.cancelRequested = true;
  }

  /** `result(id)` of a durable call answered `outcome`. */
  resultHeard(call: number, outcome: Outcome): void {
    this.#calls.get(call)?.heard.push(outcome);
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
   * `ownership`: it can lapse a dispatcher's owner heartbeat, so that another
   * adopts its durable tasks (a crash or pause, its command connection cut, Redis
   * stalled or restarted).
   */
  fault(kind: string, at: number, until = at, ownership = false): void {
    this.#faults.push({ kind, at, until, ownership });
  }

  /** The dispatcher's close() resolved: nothing may settle after this. */
  closed(at: number): void {
    this.#closedAt = at;
  }

  /** Calls not settled yet (a durable one: its submit() pending, or its promised task not finished). */
  get pending(): number {
    let n = 0;
    for (const call of this.#calls.values()) if (isPending(call)) n++;
    return n;
  }

  get calls(): number {
    return this.#calls.size;
  }

  /** How the calls ended, by outcome (`ok` or the error code). */
  outcomes(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const call of this.#calls.values()) {
      const key = call.outcome
        ? call.outcome.ok
          ? 'ok'
          : call.outcome.code
        : call.abandoned
          ? 'abandoned'
          : 'pending';
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
    if (call.durable) this.#checkDurable(call);
    const { outcome } = call;
    // A durable call's bound is per owner: each dispatcher that died or stalled may cost a run.
    const owners = call.durable ? 1 + this.#ownershipFaultsBetween(call) : 1;
    if (call.runs > call.bound * owners) {
      const rerun =
        call.rerunAttempts.length > 0
          ? ` (attempt ${call.rerunAttempts.join(', ')} ran more than once: a re-sent attempt ran again)`
          : '';
      this.#violation(
        `call ${call.id} ran ${call.runs} times, over its bound of ${call.bound * owners}${rerun}`,
      );
    }
    if (call.runs > 1 + call.retryableErrors && !this.#faultBetween(call)) {
      this.#violation(
        `call ${call.id} ran ${call.runs} times with ${call.retryableErrors} retryable error(s) and no fault to explain it`,
      );
    }
    if (!outcome) {
      if (!call.abandoned && !call.durable) {
        this.#violation(`call ${call.id} never settled (dispatched at ${call.dispatchedAt})`);
      }
      return;
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
    // A stale owner's attempts ran beyond the adopter's last one: they were fenced, not lost.
    const fenced = call.durable && this.#ownershipFaultsBetween(call) > 0;
    if ((value.attempt ?? 0) < call.maxAttempt && !fenced) {
      this.#violation(
        `call ${call.id} settled with the result of attempt ${value.attempt} after attempt ${call.maxAttempt} ran: a fenced-off result was delivered`,
      );
    }
  }

  #checkDurable(call: Call): void {
    const where = `durable call ${call.id}${call.taskId === undefined ? '' : ` (task ${call.taskId})`}`;
    if (call.openState !== undefined) {
      this.#violation(`${where} never reached a terminal state: still ${call.openState}`);
      return;
    }
    if (call.submit === 'pending' && !call.abandoned) {
      this.#violation(`${where}: submit() never settled`);
    }
    if (call.submit === 'resolved' && !call.outcome) {
      this.#violation(`${where} was lost: submit() resolved, and no record of it is left`);
      return;
    }
    const stored = call.outcome;
    if (!stored) return;
    if (!stored.ok && (stored.code === 'CANCELLED' || stored.code === 'CANCELLED_RUN')) {
      if (!call.cancelRequested) {
        this.#violation(`${where} ended ${describe(stored)}, but cancel() was never called`);
      }
    }
    for (const heard of call.heard) {
      if (!heard.ok && (heard.code === 'TIMEOUT' || heard.code === 'CLOSED')) continue;
      const same = heard.ok
        ? stored.ok && JSON.stringify(heard.value) === JSON.stringify(stored.value)
        : !stored.ok && heard.code === stored.code;
      if (!same) {
        this.#violation(
          `${where}: result() answered ${describe(heard)}, the record holds ${describe(stored)}`,
        );
      }
    }
  }

  /** Faults while `call` ran that could hand its durable task to another owner. */
  #ownershipFaultsBetween(call: Call): number {
    const end = call.settledAt ?? Number.POSITIVE_INFINITY;
    return this.#faults.filter((f) => f.ownership && f.until >= call.dispatchedAt && f.at <= end)
      .length;
  }

  #faultBetween(call: Call): boolean {
    const end = call.settledAt ?? Number.POSITIVE_INFINITY;
    return this.#faults.some((f) => f.until >= call.dispatchedAt && f.at <= end);
  }

  #violation(message: string): void {
    this.#violations.push(message);
  }
}

function isPending(call: Call): boolean {
  // A stored task must finish, whoever made it and whatever became of its submit().
  if (call.durable && call.openState !== undefined) return true;
  if (call.abandoned) return false;
  if (!call.durable) return !call.outcome;
  if (call.submit === 'pending') return true;
  return call.submit === 'resolved' && !call.outcome;
}

function describe(outcome: Outcome): string {
  return outcome.ok ? 'ok' : `${outcome.code} (${outcome.message})`;
}
