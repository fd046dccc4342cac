/**
 * Whether another live process serves this dispatcher's id, checked by
 * `start()` before it subscribes. Two live dispatchers under one id would share
 * its reply channel and its durable tasks: each would take the other's replies
 * as stale, and run again the tasks it took back as its predecessor's.
 *
 * A predecessor killed with `kill -9` leaves no subscriber (Redis drops its
 * subscription with its connection): the new process starts at once and takes
 * its durable tasks back. One whose host vanished can stay subscribed until
 * Redis notices (its `tcp-keepalive`), but it stops beating: once its owner
 * heartbeat lapsed it no longer counts. So `start()` waits, at most one owner
 * heartbeat TTL, while the reply channel has a subscriber and the id's owner
 * heartbeat lives; if both still hold then, the id is another live process's.
 * Two processes started at the same moment can both pass: the check is for
 * the usual mistake (one id for every replica), not for a race.
 */
import { type Clock, ErrorCode } from '@ringcast/protocol';
import type { DurableStore } from './durable/store.js';
import { DispatchError } from './errors.js';
import type { DispatcherTransport } from './transport.js';

export interface IdentityCheck {
  readonly id: string;
  readonly replyChannel: string;
  readonly transport: Pick<DispatcherTransport, 'subscriberCounts'>;
  readonly store: Pick<DurableStore, 'beating'>;
  readonly clock: Clock;
  /** How long a live heartbeat lasts without a beat. */
  readonly heartbeatTtlMs: number;
  /** How often the owner heartbeat is refreshed: the re-checks go at this pace, or faster. */
  readonly heartbeatIntervalMs: number;
  /** Whether start() was given up (close() called): the check ends, CLOSED. */
  readonly stopped: () => boolean;
}

/** The slowest pace of the re-checks: a close() meanwhile is heard within it. */
const MAX_RECHECK_MS = 250;

/** Resolves once no other live process serves the id; rejects `DUPLICATE_DISPATCHER` if one still does after a heartbeat TTL. */
export async function ensureIdIsFree(check: IdentityCheck): Promise<void> {
  const { id, replyChannel, transport, store, clock } = check;
  const until = clock.now() + check.heartbeatTtlMs;
  const recheckMs = Math.min(check.heartbeatIntervalMs, MAX_RECHECK_MS);
  for (;;) {
    if (check.stopped())
      throw new DispatchError(ErrorCode.CLOSED, `dispatcher ${id} closed while starting`);
    const [subscribers = 0] = await transport.subscriberCounts([replyChannel]);
    if (!(subscribers > 0) || !(await store.beating(id))) return;
    if (clock.now() >= until) {
      throw new DispatchError(
        ErrorCode.DUPLICATE_DISPATCHER,
        `dispatcher id ${id} is in use: another live process is subscribed to its reply channel and beats as its owner; give each dispatcher its own id`,
      );
    }
    await new Promise<void>((resolve) => clock.setTimeout(resolve, recheckMs));
  }
}
