/**
 * The live state of a deployment, read from Redis the way its dispatchers see
 * it: the registry and heartbeats (dispatcher `readRegistry`, one reconcile
 * round's reads), the operator's weight policy, each worker's published stats
 * report, the dispatchers' stats reports (found through their index), and the
 * durable backlog. Read-only, a few pipelined round trips, no
 * subscription: the `ringcast` commands read it once, a dashboard every second.
 *
 * A worker is live while its heartbeat key holds the incarnation of its
 * registry entry, as in a dispatcher's membership; entries that do not are
 * counted as `stale` (a dead worker's entry, until a dispatcher prunes it).
 */
import { type RegistryRead, readRegistry } from '@ringcast/dispatcher/internal';
import {
  type DispatcherReport,
  type Heartbeat,
  isValidId,
  MAX_WEIGHT,
  type Names,
  names,
  parseStatsReport,
  parseWorkerReport,
  type WorkerInfo,
  type WorkerReport,
} from '@ringcast/protocol';
import type { Redis } from 'ioredis';

/** What the view needs of a Redis client: an ioredis `Redis`. */
export type ClusterRedis = Pick<Redis, 'hgetall' | 'hget' | 'mget' | 'pipeline'> & {
  /** An ioredis Cluster says so: its names are the cluster's (one slot for all read here). */
  readonly isCluster?: boolean;
};

/** One live worker, as the registry, its heartbeat and its stats report show it. */
export interface LiveWorker {
  id: string;
  /** Its registry entry: `weight` is the weight it runs with now. */
  info: WorkerInfo;
  /**
   * The weight the operator set for it (`ringcast reweight`), if any. The
   * worker takes it within a heartbeat; until then `info.weight` differs.
   */
  policyWeight: number | undefined;
  heartbeat: Heartbeat;
  /** Milliseconds since its heartbeat key was last written; undefined for a worker that does not advertise its TTL. */
  heartbeatAgeMs: number | undefined;
  /** Its latest stats report (this incarnation's), or undefined before its first. */
  report: WorkerReport | undefined;
}

/** A dispatcher whose stats report has not expired: it settled calls within its `statsTtlMs`. */
export interface ReportingDispatcher {
  id: string;
  /** Its latest report: per handler, the calls it settled and their end-to-end latency. */
  report: DispatcherReport;
}

/** A dispatcher that owns durable tasks (it registers like a worker). */
export interface DurableOwner {
  id: string;
  /** Whether its owner heartbeat is current; a dead one's tasks are adopted by another. */
  live: boolean;
  /** Durable tasks it runs now. */
  active: number;
}

/** Durable tasks in Redis that have not finished. */
export interface DurableBacklog {
  /** Waiting for a dispatcher with capacity to claim them. */
  waiting: number;
  /** Not due yet. */
  delayed: number;
  /** Claimed and running, over every owner. */
  active: number;
  owners: DurableOwner[];
}

export interface ClusterView {
  namespace: string;
  /** When it was read, epoch ms by this machine's clock. */
  readAt: number;
  /** Live workers, by id. */
  workers: LiveWorker[];
  /** Dispatchers with a stats report, by id. */
  dispatchers: ReportingDispatcher[];
  /** Registry entries that are not a live worker: dead but not pruned yet, restarting, or unreadable. */
  stale: number;
  durable: DurableBacklog;
}

/** Reads the whole view. Throws whatever the Redis client throws (the CLI redacts it). */
export async function readClusterView(
  redis: ClusterRedis,
  namespace: string,
  now: () => number = Date.now,
): Promise<ClusterView> {
  const n = names(namespace, { cluster: redis.isCluster === true });
  const [round, overview] = await Promise.all([
    readRegistry({
      readRegistry: () => redis.hgetall(n.registryKey),
      readHeartbeats: (ids) => redis.mget(ids.map((id) => n.heartbeatKey(id))),
    }),
    exec(
      redis
        .pipeline()
        .hgetall(n.weightsKey)
        .zcard(n.backlogKey)
        .zcard(n.delayedKey)
        .hkeys(n.dispatchersKey)
        .zrange(n.dispatcherStatsIndexKey, 0, -1),
    ),
  ]);
  const [weights, waiting, delayed, ownerIds, reporterIds] = overview as [
    Record<string, string>,
    number,
    number,
    string[],
    string[],
  ];
  const live = liveEntries(round);
  const owners = ownerIds.filter(isValidId).sort();
  const reporters = reporterIds.filter(isValidId).sort();
  const details =
    live.length + owners.length + reporters.length > 0
      ? await readDetails(redis, n, live, owners, reporters)
      : [];
  const workers = live.map(({ info, beat }, i): LiveWorker => {
    const pttl = details[2 * i] as number;
    return {
      id: info.id,
      info,
      policyWeight: parsePolicyWeight(weights[info.id]),
      heartbeat: beat,
      heartbeatAgeMs: heartbeatAge(info.heartbeatTtlMs, pttl),
      report: reportOf(details[2 * i + 1] as string | null, info),
    };
  });
  const ownerDetails = details.slice(2 * live.length, 2 * (live.length + owners.length));
  const reports = details.slice(2 * (live.length + owners.length)) as Array<string | null>;
  const dispatchers = reporters.flatMap((id, i): ReportingDispatcher[] => {
    const report = parseStatsReport(reports[i]);
    return report === undefined ? [] : [{ id, report }];
  });
  const durableOwners = owners.map(
    (id, i): DurableOwner => ({
      id,
      live: ownerDetails[2 * i] === 1,
      active: ownerDetails[2 * i + 1] as number,
    }),
  );
  return {
    namespace,
    readAt: now(),
    workers,
    dispatchers,
    stale: round.invalid + round.workers.length - live.length,
    durable: {
      waiting,
      delayed,
      active: durableOwners.reduce((sum, owner) => sum + owner.active, 0),
      owners: durableOwners,
    },
  };
}

/** Worker `id`'s registry entry if it is live now, else undefined. */
export async function readLiveWorker(
  redis: Pick<Redis, 'hget' | 'mget'> & { readonly isCluster?: boolean },
  namespace: string,
  id: string,
): Promise<WorkerInfo | undefined> {
  const n = names(namespace, { cluster: redis.isCluster === true });
  const round = await readRegistry({
    readRegistry: async () => {
      const entry = await redis.hget(n.registryKey, id);
      return entry === null ? {} : { [id]: entry };
    },
    readHeartbeats: (ids) => redis.mget(ids.map((each) => n.heartbeatKey(each))),
  });
  return liveEntries(round).find(({ info }) => info.id === id)?.info;
}

/** Entries whose heartbeat is their own incarnation's, by id. */
function liveEntries(round: RegistryRead): Array<{ info: WorkerInfo; beat: Heartbeat }> {
  const live: Array<{ info: WorkerInfo; beat: Heartbeat }> = [];
  for (const { info, beat } of round.workers) {
    if (beat !== undefined && beat.incarnation === info.incarnation) live.push({ info, beat });
  }
  return live.sort((a, b) => (a.info.id < b.info.id ? -1 : a.info.id > b.info.id ? 1 : 0));
}

/**
 * Per live worker its heartbeat's PTTL and stats report, then per owner its
 * heartbeat and active count, then per reporting dispatcher its report
 * (null once expired: the index is pruned only by the dispatchers' writes).
 */
async function readDetails(
  redis: ClusterRedis,
  n: Names,
  live: ReadonlyArray<{ info: WorkerInfo }>,
  owners: readonly string[],
  reporters: readonly string[],
): Promise<unknown[]> {
  const pipeline = redis.pipeline();
  for (const { info } of live) {
    pipeline.pttl(n.heartbeatKey(info.id)).get(n.workerStatsKey(info.id));
  }
  for (const id of owners) {
    pipeline.exists(n.dispatcherHeartbeatKey(id)).scard(n.activeKey(id));
  }
  for (const id of reporters) pipeline.get(n.dispatcherStatsKey(id));
  return exec(pipeline);
}

/** A pipeline's replies; the first error is thrown. */
async function exec(pipeline: ReturnType<ClusterRedis['pipeline']>): Promise<unknown[]> {
  const replies = (await pipeline.exec()) ?? [];
  return replies.map(([error, value]) => {
    if (error) throw error;
    return value;
  });
}

/** An operator weight as stored in the policy hash; undefined for none or one no worker would take. */
export function parsePolicyWeight(value: string | undefined): number | undefined {
  if (value === undefined || !/^[1-9]\d{0,15}$/.test(value)) return undefined;
  const weight = Number(value);
  return weight <= MAX_WEIGHT ? weight : undefined;
}

/**
 * Time since a heartbeat key was written, from its TTL and the PTTL it has
 * left; undefined when the TTL is unknown (0) or the key has no expiry.
 */
export function heartbeatAge(ttlMs: number, pttlMs: number): number | undefined {
  if (ttlMs <= 0 || pttlMs < 0) return undefined;
  return Math.max(0, ttlMs - pttlMs);
}

/** The worker's report, if it is this incarnation's: a restarted worker's old one is not. */
function reportOf(value: string | null, info: WorkerInfo): WorkerReport | undefined {
  const report = parseWorkerReport(value);
  return report?.incarnation === info.incarnation ? report : undefined;
}
