/**
 * Liveness: what a worker's heartbeat says, and what a dispatcher does with it.
 *
 * A worker's heartbeat key (`{ns}:hb:<id>`, with a TTL) is written by a thread of
 * the worker process (worker/src/presence.ts), so it stays alive while a handler
 * blocks the worker's event loop, and it says how long that loop has been blocked
 * (`blockedMs`), its last stall (`stalledMs`) and how many slots handlers hold past
 * their deadline (`overdue`). The format is protocol/src/heartbeat.ts. Here:
 *
 * - **A blocked worker gets nothing new**: it could not even read it until its loop
 *   frees; other workers can. (`blocked`, checked by the dispatcher's routing.)
 * - **A late ack from a blocked worker is waited for, not re-sent.** A task that
 *   reached the worker sits in its socket or its queue and runs when the loop
 *   frees; sending it elsewhere as well runs it twice, and the next worker may
 *   block on it in turn. So when an ack window closes, the dispatcher reads that
 *   worker's heartbeat afresh (`HeartbeatProbe`: the last reconcile round may be a
 *   second old, and the ack timeout can close before any round learned of the
 *   block) and, while the worker is alive and blocked (or its stall ended so
 *   lately that its acks may still be on the wire: `waitsForAck`), waits one more
 *   ack window. The wait is bounded by the task's deadline (then `TIMEOUT`) and by
 *   the heartbeat itself: a process that dies, or stops, lets its key lapse and
 *   its tasks go elsewhere as before. A worker whose loop turns and still does not
 *   ack is suspected as before.
 * - **Slots held past their deadline are not capacity**: see `usableCapacity`.
 * - **Dead workers leave the registry** (the transport's `prune`): an entry whose
 *   heartbeat lapsed is deleted, atomically, so a worker that re-registered in
 *   between is never touched; workers write their entry with every beat, so a
 *   pruned worker that was only held up comes back by itself.
 */
import {
  type Clock,
  type Heartbeat,
  isValidId,
  parseHeartbeat,
  parseWorkerInfo,
  type Timer,
  usableCapacity,
  type WorkerInfo,
} from '@ringcast/protocol';

/** What the dispatcher keeps of a worker that its heartbeat updates. */
export interface Liveness {
  readonly incarnation: string;
  readonly concurrency: number;
  readonly info: WorkerInfo;
  /** Attempts this dispatcher may have on the worker: its usable slots and a queue to match. */
  capacity: number;
  /** How long the worker's event loop had been blocked at its last heartbeat; 0 if turning. */
  blockedMs: number;
  /** Blocked long enough to be skipped by routing (see {@link applyHeartbeat}). */
  blocked: boolean;
  /** Its event loop's last stall that ended lately (ms); 0 if none. */
  stalledMs: number;
  /** Its slots held past their task's deadline. */
  overdue: number;
}

/**
 * Takes a heartbeat of the worker's own incarnation into its state. A worker
 * whose loop had been blocked for `blockedAfterMs` (the dispatcher's reconcile
 * interval) gets no new tasks until a heartbeat says it turns again: by then the
 * block has lasted as long as the next look at it takes, and tasks sent there
 * would wait for its end while other workers idle. A shorter block is not worth
 * skipping the worker for a whole round.
 */
export function applyHeartbeat(w: Liveness, beat: Heartbeat, blockedAfterMs: number): void {
  w.blockedMs = beat.blockedMs;
  w.blocked = beat.blockedMs >= blockedAfterMs;
  w.stalledMs = beat.stalledMs;
  if (beat.overdue !== w.overdue) {
    w.overdue = beat.overdue;
    w.capacity = usableCapacity(w.concurrency, w.info.maxQueue, beat.overdue);
  }
}

/**
 * Whether a missing ack is explained: the worker (this incarnation) is alive and
 * its loop is blocked, or was blocked so lately that its acks may still be coming.
 */
export function waitsForAck(beat: Heartbeat | undefined, incarnation: string): boolean {
  return (
    beat !== undefined &&
    beat.incarnation === incarnation &&
    (beat.blockedMs > 0 || beat.stalledMs > 0)
  );
}

/** A registry entry whose heartbeat key was absent. */
export interface LapsedEntry {
  /** The hash field: the worker's id, or whatever an unreadable entry was stored under. */
  field: string;
  /**
   * The entry exactly as read, so that a rewritten one is never deleted; `''`
   * when there was none (a heartbeat deadline left behind, see readWorkers).
   */
  entry: string;
  /** The worker whose heartbeat was absent; undefined when the field is no id (no worker can beat for it). */
  id: string | undefined;
}

export interface RegistryRead {
  /** Every readable entry, with its heartbeat if it has one. */
  workers: Array<{ info: WorkerInfo; beat: Heartbeat | undefined }>;
  /** Entries that could not be read. */
  invalid: number;
  /** Entries without a heartbeat key, readable or not: candidates for pruning. */
  lapsed: LapsedEntry[];
}

/** What a reconcile round reads: the transport's, narrowed. */
export interface RegistryReader {
  readRegistry(): Promise<Record<string, string>>;
  readHeartbeats(ids: readonly string[]): Promise<Array<string | null>>;
}

/** One full reconcile round's reads: the registry, then every entry's heartbeat in one read. */
export async function readRegistry(reader: RegistryReader): Promise<RegistryRead> {
  const registry = await reader.readRegistry();
  const fields = Object.entries(registry);
  const keyed: Array<[string, string, WorkerInfo | undefined, string]> = [];
  const read: RegistryRead = { workers: [], invalid: 0, lapsed: [] };
  const unkeyed: LapsedEntry[] = [];
  for (const [field, entry] of fields) {
    const info = parseEntry(entry, read);
    const id = info?.id ?? field;
    if (isValidId(id)) keyed.push([field, entry, info, id]);
    else unkeyed.push({ field, entry, id: undefined });
  }
  const ids = keyed.map(([, , , id]) => id);
  const beats = ids.length > 0 ? await reader.readHeartbeats(ids) : [];
  keyed.forEach(([field, entry, info, id], i) => {
    judgeEntry(read, field, entry, info, id, beats[i]);
  });
  read.lapsed.push(...unkeyed);
  return read;
}

/** What a tick reads of the workers it was told about: the transport's, narrowed. */
export interface WorkerReader {
  readWorkers(
    ids: readonly string[],
  ): Promise<{ entries: Array<string | null>; beats: Array<string | null> }>;
}

/**
 * A tick's reads of the workers that changed or whose deadline passed: their
 * entries and heartbeats in one read. An id with neither is a deadline left
 * behind: it is listed as lapsed with entry `''` (the prune removes it).
 */
export async function readWorkers(
  reader: WorkerReader,
  ids: readonly string[],
): Promise<RegistryRead> {
  const read: RegistryRead = { workers: [], invalid: 0, lapsed: [] };
  if (ids.length === 0) return read;
  const { entries, beats } = await reader.readWorkers(ids);
  ids.forEach((id, i) => {
    const entry = entries[i] ?? null;
    if (entry === null) {
      if ((beats[i] ?? null) === null) read.lapsed.push({ field: id, entry: '', id });
      return;
    }
    judgeEntry(read, id, entry, parseEntry(entry, read), id, beats[i]);
  });
  return read;
}

function parseEntry(entry: string, read: RegistryRead): WorkerInfo | undefined {
  try {
    return parseWorkerInfo(JSON.parse(entry));
  } catch {
    read.invalid++;
    return undefined;
  }
}

function judgeEntry(
  read: RegistryRead,
  field: string,
  entry: string,
  info: WorkerInfo | undefined,
  id: string,
  value: string | null | undefined,
): void {
  if (value === null || value === undefined) read.lapsed.push({ field, entry, id });
  if (info) read.workers.push({ info, beat: parseHeartbeat(value) });
}

/** Most entries pruned per round: the prune runs inside Redis, and must stay short. */
export const PRUNE_BATCH = 1_000;

/** A fresh read of one heartbeat: `ok: false` when Redis did not answer in time. */
export type ProbeResult = { ok: true; beat: Heartbeat | undefined } | { ok: false };

/**
 * Fresh heartbeat reads for ack windows that close. Reads asked for in the same
 * turn share one read (a blocked worker's ack windows tend to close together),
 * and each is bounded, so a task never waits on a Redis that does not answer.
 */
export class HeartbeatProbe {
  readonly #read: (ids: readonly string[]) => Promise<Array<string | null>>;
  readonly #clock: Clock;
  readonly #timeoutMs: number;
  #pending = new Map<string, Array<(result: ProbeResult) => void>>();
  #scheduled = false;

  /** `read` fetches heartbeats by worker id (the transport's `readHeartbeats`). */
  constructor(
    read: (ids: readonly string[]) => Promise<Array<string | null>>,
    clock: Clock,
    timeoutMs: number,
  ) {
    this.#read = read;
    this.#clock = clock;
    this.#timeoutMs = timeoutMs;
  }

  /** The heartbeat of worker `id`. */
  read(id: string): Promise<ProbeResult> {
    return new Promise((resolve) => {
      const waiting = this.#pending.get(id);
      if (waiting) waiting.push(resolve);
      else this.#pending.set(id, [resolve]);
      if (!this.#scheduled) {
        this.#scheduled = true;
        this.#clock.setImmediate(this.#flush);
      }
    });
  }

  readonly #flush = (): void => {
    this.#scheduled = false;
    const pending = this.#pending;
    this.#pending = new Map();
    const ids = [...pending.keys()];
    const answer = (results: Array<ProbeResult>) => {
      ids.forEach((id, i) => {
        for (const resolve of pending.get(id)!) resolve(results[i]!);
      });
    };
    let timer: Timer | undefined;
    const timeout = new Promise<null>((resolve) => {
      timer = this.#clock.setTimeout(() => resolve(null), this.#timeoutMs);
    });
    let reading: Promise<Array<string | null>>;
    try {
      reading = this.#read(ids);
    } catch (error) {
      reading = Promise.reject(error);
    }
    Promise.race([reading, timeout])
      .then(
        (values) =>
          values === null
            ? ids.map((): ProbeResult => ({ ok: false }))
            : values.map((value): ProbeResult => ({ ok: true, beat: parseHeartbeat(value) })),
        () => ids.map((): ProbeResult => ({ ok: false })),
      )
      .then(answer)
      .finally(() => this.#clock.clearTimer(timer));
  };
}
