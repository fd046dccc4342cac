/**
 * What a store does with the records it just made a dispatcher's (by claim or
 * adopt) when some cannot be read: it fails them at once, fenced like any
 * settle, rather than return them half-read or leave them active forever in
 * an owner's set, where nothing would ever finish or expire them. Each is
 * counted in the store's `malformed`; a waiter on `result(id)` hears
 * `INVALID_MESSAGE`.
 */
import type { DurableRecord } from './record.js';
import { decodeRecord, type MalformedRecords } from './record-decode.js';
import type { RecordKeys } from './record-seal.js';
import { unreadable as unreadableOutcome } from './requests.js';
import type { DurableStore } from './store.js';

/** A record as a claim or adopt script read it: its id (from the index) and its hash. */
export interface RawRecord {
  id: string;
  hash: Readonly<Record<string, string>>;
}

/** The store's side of it: the fenced terminal write and the counts. */
type Host = Pick<DurableStore, 'settle'> & {
  readonly malformed: MalformedRecords;
  readonly keys: RecordKeys;
};

/** The readable records of `raws`, in order; the others are failed for `owner`. */
export async function quarantine(
  raws: readonly RawRecord[],
  owner: string,
  now: number,
  store: Host,
): Promise<DurableRecord[]> {
  const records: DurableRecord[] = [];
  const unreadable: Array<[string, string]> = [];
  for (const { id, hash } of raws) {
    const record = decodeRecord(hash, store.malformed, id, store.keys);
    if (record) records.push(record);
    else unreadable.push([id, store.malformed.lastProblem]);
  }
  // The scripts checked every id against the id pattern, so each names a key.
  await Promise.all(
    unreadable.map(([id, problem]) => store.settle(id, owner, unreadableOutcome(problem), now)),
  );
  return records;
}
