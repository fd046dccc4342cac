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
    seed: 100014,
    pattern:
      /over its bound of \d+ \(attempt [\d, ]+ ran more than once: a re-sent attempt ran again\)/,
    what: "dispatcher: after its reply subscription comes back (here after a Redis restart), recovery re-sends each open attempt as itself to the same worker id; if that worker was restarted under the same id meanwhile (a new incarnation, with no record of the attempt), it runs the attempt again, so a task runs more than maxAttempts + retries times (seed 100014: maxAttempts 1, retries 0, attempt 1 ran on w2 before and after w2's restart)",
  },
];

/** The known bug a violation is, if any. */
export function knownBug(violation: string): KnownBug | undefined {
  return KNOWN_BUGS.find((bug) => bug.pattern.test(violation));
}
