/**
 * Core bugs the simulator found that are not fixed yet, each with the seed that
 * shows it. The batch test reports every violation that matches one (it does not
 * hide them: it counts and prints them) and fails on any other; `npm run sim`
 * fails on all of them. When a bug is fixed, its entry goes and its seed becomes
 * a plain regression case (see run.test.ts).
 */
export interface KnownBug {
  /** The seed that first showed it. */
  seed: number;
  /** What a violation it causes looks like. */
  pattern: RegExp;
  what: string;
}

export const KNOWN_BUGS: readonly KnownBug[] = [
  {
    seed: 5170,
    pattern:
      /ended CANCELLED_RUN .*but cancel\(\) was never called|result\(\) answered HANDLER_ERROR \(handler job failed: WorkerError: the task was cancelled\)/,
    what: "a durable task's run aborted by a worker on a dispatcher's remote cancel (not the caller's cancel()) is stored as the task's terminal failure; found 2026-12-01 with seed 5170 (under worker drains, a Redis stall and a dropped command connection), present before that day's changes. What is known: the owning dispatcher timed the attempt out (TIMEOUT, with a remote cancel) while Redis stalled; the worker's reply for the aborted run (WorkerError CANCELLED) became the stored outcome instead. Suspected: an attempt's token is `id.attempt`, the same for any dispatcher, so a cancel from a dispatcher that no longer owns the task can abort the new owner's attempt of the same number; a worker should honour a cancel only from the dispatcher the attempt answers to",
  },
];

/** The known bug a violation is, if any. */
export function knownBug(violation: string): KnownBug | undefined {
  return KNOWN_BUGS.find((bug) => bug.pattern.test(violation));
}
