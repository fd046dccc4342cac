/**
 * Taking over the active durable tasks of a dispatcher that is gone, so that
 * none stays `active` for ever: a dead one's (its heartbeat lapsed: any live
 * dispatcher may adopt them, the store lets one) and, at start, those of the
 * process that ran before under this dispatcher's own id.
 *
 * Adopted tasks are first settled from the results workers parked for the
 * dispatcher that is gone — their handlers ran, they are not run again — and
 * the rest run here with a new attempt (or go back to the backlog if no worker
 * has room). The old owner, if it was only paused, is fenced by the store: its
 * late writes are refused and counted on its side.
 *
 * And its own orphans: an active task of this dispatcher's in Redis that it
 * does not run. A store command whose reply was lost (the connection dropped
 * after Redis applied it) leaves one — a claim, or a submit's write that
 * claimed its task — and nothing else would ever finish it while this
 * dispatcher lives. {@link Adoption.sweepOrphans} finds and runs them.
 */
import { errorMessage } from '@ringcast/protocol';
import type { ClaimLoop } from './claim-loop.js';
import type { DurableContext } from './durable-context.js';
import type { OutcomeWriter } from './outcome-writer.js';
import { parkedOutcomes } from './parked-outcomes.js';
import type { DurableRecord } from './record.js';

/** Every how many owner heartbeats this dispatcher looks for orphans of its own. */
export const ORPHAN_SWEEP_BEATS = 5;

export class Adoption {
  readonly #c: DurableContext;
  readonly #claims: ClaimLoop;
  readonly #writer: OutcomeWriter;
  #scanning = false;
  #reclaiming = false;
  #beats = 0;

  constructor(context: DurableContext, claims: ClaimLoop, writer: OutcomeWriter) {
    this.#c = context;
    this.#claims = claims;
    this.#writer = writer;
  }

  /**
   * At start, before any task of ours exists: the former process's tasks under
   * our id, and the replies parked for it. Replies no durable task takes are
   * handled as any parked reply (stale, counted).
   */
  async reclaim(): Promise<void> {
    const { host, store } = this.#c;
    this.#reclaiming = true;
    try {
      const records = await store.reclaim(host.id);
      const frames = await this.#takeParked(undefined);
      // Replayed before the tasks run here: a parked reply settles nothing of theirs twice.
      host.replayParked(frames);
      this.#take(records, frames);
    } finally {
      this.#reclaiming = false;
    }
  }

  /** After each owner heartbeat: dead owners' tasks; every few beats, our own orphans. */
  async afterBeat(): Promise<void> {
    await this.scan();
    if (++this.#beats % ORPHAN_SWEEP_BEATS !== 0) return;
    try {
      await this.sweepOrphans();
    } catch (error) {
      this.#c.host.log.warn('durable', `looking for orphaned tasks failed: ${errorMessage(error)}`);
    }
  }

  /** Looks for dead owners and adopts their tasks; one scan at a time. */
  async scan(): Promise<void> {
    if (this.#scanning || this.#c.stopped()) return;
    this.#scanning = true;
    const { host, store } = this.#c;
    try {
      for (const dead of await store.deadOwners()) {
        if (dead === host.id || this.#c.stopped()) continue;
        const records = await store.adopt(dead, host.id);
        // Another dispatcher adopted them first, or it had none.
        if (records.length === 0) continue;
        this.#take(records, await this.#takeParked(dead));
      }
    } catch (error) {
      host.log.warn('durable', `adopting a dead dispatcher's tasks failed: ${errorMessage(error)}`);
    } finally {
      this.#scanning = false;
    }
  }

  /**
   * Runs the active tasks Redis says are ours that we do not know. The set is
   * read after every store command sent before it (one connection answers in
   * order), so a claim or add whose reply is on its way has its tasks in the
   * ledger by then or runs them after — the ledger keeps it to one copy; a task
   * whose terminal write or release is under way is left to that write, and no
   * sweep runs while an adoption is taking tasks.
   */
  async sweepOrphans(): Promise<void> {
    if (this.#c.stopped() || this.#busy()) return;
    const { host, store } = this.#c;
    const ids = await store.activeIds(host.id);
    const orphans = ids.filter((id) => !host.ledger.byId(id) && !this.#writer.isWriting(id));
    if (orphans.length === 0) return;
    const records = await Promise.all(orphans.map((id) => store.get(id)));
    // Tasks adopted meanwhile are ours and not in the ledger until their parked replies
    // are read: they are the adoption's to settle or run. The next sweep looks again.
    if (this.#busy()) return;
    const now = host.clock.now();
    for (const record of records) {
      // Settled or taken from us meanwhile, or known by now: nothing to do.
      if (record?.state !== 'active' || record.owner !== host.id) continue;
      if (host.ledger.byId(record.id) || this.#writer.isWriting(record.id)) continue;
      this.#c.stats.orphans++;
      this.#claims.run(record, now);
    }
    host.queue.pump();
  }

  /** Whether an adoption or reclaim is taking tasks now. */
  #busy(): boolean {
    return this.#scanning || this.#reclaiming;
  }

  /** The parked replies; none if Redis refused (the tasks then run again: at least once). */
  async #takeParked(dispatcherId: string | undefined): Promise<string[]> {
    const host = this.#c.host;
    try {
      return await host.transport.takeParked(dispatcherId);
    } catch (error) {
      host.log.warn('parked', `collecting parked replies failed: ${errorMessage(error)}`);
      return [];
    }
  }

  #take(records: readonly DurableRecord[], frames: readonly string[]): void {
    if (records.length === 0) return;
    const { host, stats } = this.#c;
    stats.adopted += records.length;
    const byId = new Map(records.map((record) => [record.id, record]));
    const outcomes = parkedOutcomes(frames, byId, host.options.maxMessageBytes);
    const now = host.clock.now();
    for (const record of records) {
      const outcome = outcomes.get(record.id);
      if (outcome && !host.ledger.byId(record.id)) {
        stats.parkedSettled++;
        this.#writer.write(record.id, outcome);
      } else {
        this.#claims.run(record, now);
      }
    }
    host.queue.pump();
  }
}
