/**
 * Which workers the dashboard shows and in what state. A read of the cluster
 * view lists the live workers (heartbeat key present, of their incarnation);
 * among them a worker whose heartbeat is older than 1.5 intervals is
 * `missing`. A worker seen before and absent from a read is `gone` (its
 * heartbeat key expired, or it left), kept for a minute so an operator sees
 * what went, then dropped. Between reads, probed heartbeat ages tell whether
 * a state would change, so the caller can read again at once.
 */
import type { WorkerInfo } from '@ringcast/protocol';
import type { ClusterView, LiveWorker } from '../cluster-view.js';
import type { WorkerState } from './wire.js';

/** A heartbeat older than this many intervals is late: the worker is `missing`. */
export const MISSING_AFTER_INTERVALS = 1.5;
/** How long a gone worker stays listed. */
export const GONE_SHOWN_MS = 60_000;

/** What a probe found of one worker's heartbeat key. */
export type BeatProbe =
  /** The key is gone. */
  | { expired: true }
  /** Its age; undefined when the key has no TTL to read it from. */
  | { expired: false; ageMs: number | undefined };

export interface TrackedWorker {
  /** As the latest read that listed it showed it. */
  worker: LiveWorker;
  state: WorkerState;
  goneAt: number | null;
}

/** How often the worker beats: as it advertises, or a third of its TTL (the default ratio) when it does not. */
export function heartbeatIntervalOf(info: WorkerInfo): number | undefined {
  if (info.heartbeatIntervalMs !== undefined) return info.heartbeatIntervalMs;
  return info.heartbeatTtlMs > 0 ? info.heartbeatTtlMs / 3 : undefined;
}

/** The state of a worker whose heartbeat key exists, from its age; live when the age cannot be known. */
export function beatState(ageMs: number | undefined, intervalMs: number | undefined): WorkerState {
  if (ageMs === undefined || intervalMs === undefined) return 'live';
  return ageMs > MISSING_AFTER_INTERVALS * intervalMs ? 'missing' : 'live';
}

const STATE_ORDER: Record<WorkerState, number> = { live: 0, missing: 1, gone: 2 };

export class WorkerStates {
  readonly #byId = new Map<string, TrackedWorker>();

  /** Takes a fresh read of the cluster view, made at `now`. */
  observe(view: ClusterView, now: number): void {
    const present = new Set<string>();
    for (const worker of view.workers) {
      present.add(worker.id);
      const state = beatState(worker.heartbeatAgeMs, heartbeatIntervalOf(worker.info));
      this.#byId.set(worker.id, { worker, state, goneAt: null });
    }
    for (const [id, tracked] of this.#byId) {
      if (present.has(id)) continue;
      if (tracked.goneAt === null) {
        tracked.state = 'gone';
        tracked.goneAt = now;
      } else if (now - tracked.goneAt >= GONE_SHOWN_MS) {
        this.#byId.delete(id);
      }
    }
  }

  /** The workers whose heartbeat is worth probing between reads: those not gone. */
  watched(): LiveWorker[] {
    return [...this.#byId.values()].filter((t) => t.state !== 'gone').map((t) => t.worker);
  }

  /** Whether `probes` (by worker id) would change the state of a watched worker. */
  changedBy(probes: ReadonlyMap<string, BeatProbe>): boolean {
    for (const [id, probe] of probes) {
      const tracked = this.#byId.get(id);
      if (tracked === undefined || tracked.state === 'gone') continue;
      const state = probe.expired
        ? 'gone'
        : beatState(probe.ageMs, heartbeatIntervalOf(tracked.worker.info));
      if (state !== tracked.state) return true;
    }
    return false;
  }

  /** Every worker shown: live, then missing, then gone; by id within each. */
  list(): TrackedWorker[] {
    return [...this.#byId.values()].sort(
      (a, b) =>
        STATE_ORDER[a.state] - STATE_ORDER[b.state] ||
        (a.worker.id < b.worker.id ? -1 : a.worker.id > b.worker.id ? 1 : 0),
    );
  }
}
