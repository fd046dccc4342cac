/**
 * Frame authentication in a simulated run. About one seed in four runs with
 * it, drawn from a generator of its own so that the other seeds' runs do not
 * depend on it: every process signs and checks every frame with one keyring,
 * half of those runs encrypt, and half rotate keys during the faults as an
 * operator does — the new key added to every live process, later made the
 * signing key everywhere — and retire the old key once the run has settled.
 * A process started meanwhile gets the keyring of the moment.
 *
 * What the run then holds the cores to: no process dropped a frame another
 * sealed, but for a replay (a PUBLISH a dropped connection re-sent, delivered
 * twice). Clock skew faults stay well inside the window.
 */
import type { AuthOptions, FrameDropReason } from '@ringcast/protocol';
import { Random } from './random.js';

const SECRETS = {
  k1: 'simulated-secret-number-one-0000000001',
  k2: 'simulated-secret-number-two-0000000002',
};

/** The keyring of each step of a rotation: k1 alone, both (signing k1), both (signing k2), k2 alone. */
const STEPS = [
  { keys: { k1: SECRETS.k1 }, current: 'k1' },
  { keys: { ...SECRETS }, current: 'k1' },
  { keys: { ...SECRETS }, current: 'k2' },
  { keys: { k2: SECRETS.k2 }, current: 'k2' },
] as const;

export interface AuthPlan {
  encrypt: boolean;
  /** When (as fractions of the fault window) k2 is added everywhere and then made current; none: no rotation. */
  rotation: { add: number; current: number } | undefined;
}

/** A run's frame authentication, or undefined for a run without it. */
export function authPlan(seed: number): AuthPlan | undefined {
  const random = new Random(seed ^ 0x41757468);
  if (!random.chance(0.25)) return undefined;
  const encrypt = random.chance(0.5);
  if (!random.chance(0.5)) return { encrypt, rotation: undefined };
  const add = random.next() * 0.5;
  return { encrypt, rotation: { add, current: add + random.next() * (1 - add) } };
}

/** The keyring of rotation step `step` (0: before any; 3: the old key retired). */
export function keyringAt(plan: AuthPlan, step: 0 | 1 | 2 | 3): AuthOptions {
  const { keys, current } = STEPS[step];
  return { keys: { ...keys }, current, ...(plan.encrypt ? { encrypt: true } : {}) };
}

/** Why `who` dropped frames it should not have (replays aside), or undefined. */
export function unexpectedDrops(
  who: string,
  dropped: Readonly<Record<FrameDropReason, number>>,
): string | undefined {
  const bad = Object.entries(dropped).filter(([reason, n]) => reason !== 'replay' && n > 0);
  if (bad.length === 0) return undefined;
  const list = bad.map(([reason, n]) => `${reason} ×${n}`).join(', ');
  return `${who} dropped frames a core sealed: ${list}`;
}
