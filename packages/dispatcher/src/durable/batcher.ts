/**
 * The Redis store's operations issued in one event-loop turn, sent together at
 * its end: each run of consecutive operations of one kind becomes one call (a
 * script that applies each operation in turn, as its own call would have), and
 * the calls go out in the order the operations were issued, on one connection,
 * so Redis applies them in that order. A busy dispatcher then makes a few
 * calls per turn instead of a few per task, while a lone operation still
 * leaves at the end of the turn it was issued in (as the outbox does with
 * frames).
 *
 * Each operation settles with its own result. A call that fails as a whole
 * (Redis unreachable, a reply of another shape) rejects each of its
 * operations with that error; one operation that failed alone inside the
 * call is rejected alone.
 */

/** One kind of operation, and how a run of them is sent. */
export interface BatchKind<Op, R> {
  /** Most operations one call carries. */
  readonly max: number;
  /**
   * Sends `ops` as one call, synchronously (the order of calls on the
   * connection is the order of the operations). Resolves with one result per
   * op, in order: an `Error` for an op that failed alone.
   */
  send(ops: readonly Op[]): Promise<ReadonlyArray<R | Error>>;
}

interface Entry {
  kind: BatchKind<unknown, unknown>;
  op: unknown;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

export class Batcher {
  #queue: Entry[] = [];
  #scheduled = false;
  readonly #schedule: (flush: () => void) => void;

  /** `schedule` runs the flush at the end of the turn. */
  constructor(schedule: (flush: () => void) => void = setImmediate) {
    this.#schedule = schedule;
  }

  /** Queues `op` for the end of this turn; settles with its own result. */
  push<Op, R>(kind: BatchKind<Op, R>, op: Op): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#queue.push({
        kind: kind as BatchKind<unknown, unknown>,
        op,
        resolve: resolve as (value: unknown) => void,
        reject,
      });
      if (!this.#scheduled) {
        this.#scheduled = true;
        this.#schedule(() => this.#flush());
      }
    });
  }

  #flush(): void {
    const queue = this.#queue;
    this.#queue = [];
    this.#scheduled = false;
    let start = 0;
    while (start < queue.length) {
      const kind = queue[start]!.kind;
      let end = start + 1;
      while (end < queue.length && queue[end]!.kind === kind && end - start < kind.max) end++;
      send(kind, queue.slice(start, end));
      start = end;
    }
  }
}

function send(kind: BatchKind<unknown, unknown>, entries: Entry[]): void {
  let sent: Promise<ReadonlyArray<unknown>>;
  try {
    sent = kind.send(entries.map((entry) => entry.op));
  } catch (error) {
    for (const entry of entries) entry.reject(error);
    return;
  }
  sent.then(
    (results) => {
      for (const [i, entry] of entries.entries()) {
        const result = results[i];
        if (result instanceof Error) entry.reject(result);
        else entry.resolve(result);
      }
    },
    (error: unknown) => {
      for (const entry of entries) entry.reject(error);
    },
  );
}
