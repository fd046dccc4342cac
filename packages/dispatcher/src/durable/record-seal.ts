/**
 * Which fields of a durable task's record are sealed, and with what: with
 * `auth.encrypt` on, `payload`, `result` and `error` are written sealed
 * (value-seal.ts in @ringcast/protocol), bound to the task's id and the
 * field's name. The error is sealed too: its message and the thrown error's
 * are whatever the handler put in them, user data included. The other fields
 * (state, times, handler name, routing key, worker and owner ids) stay in the
 * clear: the scripts read them, and they are the deployment's, not its users'.
 *
 * Every read opens a sealed field with any key of the keyring in use, so a
 * record stays readable after a rotation for as long as its key stays in the
 * keyring; a field in the clear (written before encryption was on) reads as
 * it is.
 */
import { type FrameSealer, openValue, sealValue, type UnopenedValue } from '@ringcast/protocol';

/** The record fields that carry users' data. */
export type SealedField = 'payload' | 'result' | 'error';

/** Where a store gets its sealer from, on every use: a dispatcher's keyring can be replaced while it runs. */
export interface RecordKeys {
  readonly sealer: FrameSealer | undefined;
}

/** No keys: nothing is sealed, and a sealed field cannot be opened. */
export const NO_RECORD_KEYS: RecordKeys = { sealer: undefined };

/** A store's keys held by nothing else (tools, tests): `sealer` as it is. */
export function recordKeys(sealer: FrameSealer | undefined): RecordKeys {
  return { sealer };
}

/** `text` as the record of task `id` stores it in `field`: sealed when encryption is on. */
export function sealField(keys: RecordKeys, id: string, field: SealedField, text: string): string {
  const sealer = keys.sealer;
  return sealer?.keyring.encrypt ? sealValue(sealer, binding(id, field), text) : text;
}

/** The text of a stored `field` of task `id`, or why it cannot be opened. Never throws. */
export function openField(
  keys: RecordKeys,
  id: string,
  field: SealedField,
  stored: string,
): string | UnopenedValue {
  return openValue(keys.sealer, binding(id, field), stored);
}

function binding(id: string, field: SealedField): string {
  // Field names hold no colon: the id is everything after the first.
  return `${field}:${id}`;
}
