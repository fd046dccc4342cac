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

export const KNOWN_BUGS: readonly KnownBug[] = [];

/** The known bug a violation is, if any. */
export function knownBug(violation: string): KnownBug | undefined {
  return KNOWN_BUGS.find((bug) => bug.pattern.test(violation));
}
