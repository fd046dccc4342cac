/**
 * The operator's weight policy (`names().weightsKey`): a hash of worker id →
 * weight, written by `ringcast reweight` and read by the workers, which take a
 * valid entry over the weight they were started with. One reading of an entry
 * for every side, so the admin tool refuses what a worker would ignore.
 */
import { MAX_WEIGHT } from './messages.js';

/** A policy entry as stored: a decimal integer from 1 to {@link MAX_WEIGHT}, nothing else. */
const WEIGHT_TEXT = /^[1-9][0-9]{0,6}$/;

/**
 * The weight a policy entry holds, or undefined when it holds none a worker
 * may take (not a decimal integer from 1 to {@link MAX_WEIGHT}: `"0"`, `"1.5"`,
 * `" 3"`, `"07"`, `"abc"`). `null` (no entry) is undefined too.
 */
export function parsePolicyWeight(value: string | null): number | undefined {
  if (value === null || !WEIGHT_TEXT.test(value)) return undefined;
  const weight = Number(value);
  return weight <= MAX_WEIGHT ? weight : undefined;
}
