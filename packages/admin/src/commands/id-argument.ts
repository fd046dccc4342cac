import { isValidId, UsageError } from '@ringcast/protocol';

/** A worker or task id as typed: 1 to 128 of A-Z a-z 0-9 _ . - (protocol `ID_PATTERN`). */
export function idArgument(what: 'worker' | 'task', raw: string): string {
  const shown = JSON.stringify(raw.slice(0, 80));
  if (!isValidId(raw)) throw new UsageError(`${shown} is not a valid ${what} id`);
  return raw;
}
