/**
 * The durable store on ioredis: each operation one Lua script (`redis-scripts-*.ts`)
 * or one MULTI, so each is atomic in Redis. It uses a connection it is given
 * (the dispatcher's command connection) and never closes it. Replies are read
 * as untrusted (`redis-replies.ts`): a reply of an unexpected shape reads as
 * nothing, and a record that cannot be decoded is counted, never thrown. The
 * operations on owners rather than tasks are {@link RedisOwners}'.
 *
 * The operations every durable task makes (add, started, settle, get) are
 * queued in a {@link Batcher}: those issued in one turn leave at its end, a run
 * of one kind as one script call, in the order they were issued. Each still
 * settles with its own result, exactly as it would alone; claim, release and
 * cancel take their place in that order as calls of their own. A `started` write
 * is held back briefly ({@link HeldStarts}), so that a task that finishes soon
 * records its attempt with its terminal write.
 */
import { type Clock, isValidId, type Names, systemClock } from '@ringcast/protocol';
import type { Redis } from 'ioredis';
import { Batcher, type BatchKind } from './batcher.js';
import { type HeldStart, HeldStarts, type StartedOp } from './held-starts.js';
import { knownRecord } from './known-records.js';
import type { LuaScript } from './lua-script.js';
import { quarantine } from './quarantine.js';
import type { DurableRecord, NewRecord } from './record.js';
import { decodeRecord, MalformedRecords } from './record-decode.js';
import { NO_RECORD_KEYS, type RecordKeys } from './record-seal.js';
import { RedisOwners } from './redis-owners.js';
import { hashOf, isSettled, rawRecords, repliesOf, unexpected } from './redis-replies.js';
import { ADD, CLAIM } from './redis-scripts-add-claim.js';
import { GET, PEEK } from './redis-scripts-read.js';
import { CANCEL, RELEASE, SETTLE, STARTED } from './redis-scripts-settle.js';
import {
  type AddRequest,
  addRequest,
  CANCELLED_BEFORE_START,
  checkClaim,
  checkId,
  checkNow,
  checkStarted,
  DUE_BATCH,
  errorJson,
  type SettleRequest,
  settleRequest,
} from './requests.js';
import type {
  AddOptions,
  AddResult,
  CancelResult,
  DurableStore,
  KnownRecords,
  Outcome,
  SettledAnnouncer,
  SettleResult,
  StartedResult,
  StoreCounts,
} from './store.js';
import { peekOf, type TaskPeek } from './task-peek.js';

const CANCELLED_JSON = errorJson(CANCELLED_BEFORE_START);
/** The one answer most settles get: shared, not made per task. */
const SETTLED: SettleResult = Object.freeze({ kind: 'settled' });
const ADD_RESULTS = new Set<string>(['added', 'claimed', 'full', 'exists']);
/**
 * Most operations one script call applies: a script runs alone in Redis, so a
 * large turn goes out as several calls rather than stalling everyone in one.
 */
export const MAX_BATCH = 200;

/** A lean claim's fields of a task that gained none while it waited (knownRecord reads 1 to 4). */
const UNCHANGED: readonly unknown[] = Object.freeze([null, null, null, null, null]);

/** A script call that is not batched, made in its place among those that are. */
interface Call {
  script: LuaScript;
  keys: string[];
  args: string[];
}

/** A settle, and the held start of the same attempt it carries, if any. */
interface SettleOp {
  request: SettleRequest;
  start: StartedOp | undefined;
}

export class RedisStore implements DurableStore {
  readonly malformed = new MalformedRecords();
  /** What sealed fields are sealed and opened with. */
  readonly keys: RecordKeys;
  readonly #redis: Redis;
  readonly #names: Names;
  readonly #batcher = new Batcher();
  readonly #adds: BatchKind<AddRequest, AddResult>;
  readonly #starts: BatchKind<StartedOp, StartedResult>;
  readonly #settles: BatchKind<SettleOp, SettleResult>;
  readonly #gets: BatchKind<string, Record<string, string>>;
  readonly #peeks: BatchKind<string, TaskPeek | undefined>;
  readonly #alone: BatchKind<Call, unknown>;
  readonly #held: HeldStarts;
  /** The operations on owners (heartbeat, leave, adopt, reclaim, counts): not batched. */
  readonly #owners: RedisOwners;

  readonly #announce: SettledAnnouncer | undefined;

  /**
   * `clock` dates the failure of an adopted record that cannot be read (adopt
   * takes no time). With `announce`, the scripts publish nothing: the ids they
   * settled go to it once they return (see {@link SettledAnnouncer}).
   */
  constructor(
    redis: Redis,
    names: Names,
    clock: Clock = systemClock,
    announce?: SettledAnnouncer,
    keys: RecordKeys = NO_RECORD_KEYS,
  ) {
    this.keys = keys;
    this.#redis = redis;
    this.#names = names;
    this.#announce = announce;
    this.#adds = { max: MAX_BATCH, send: (ops) => this.#sendAdds(ops) };
    this.#starts = { max: MAX_BATCH, send: (ops) => this.#sendStarts(ops) };
    this.#settles = { max: MAX_BATCH, send: (ops) => this.#sendSettles(ops) };
    this.#gets = { max: MAX_BATCH, send: (keys) => this.#sendGets(keys) };
    this.#peeks = { max: MAX_BATCH, send: (keys) => this.#sendPeeks(keys) };
    this.#alone = {
      max: 1,
      send: async ([call]) => [await call!.script.run(this.#redis, call!.keys, call!.args)],
    };
    this.#owners = new RedisOwners(redis, names, clock, this);
    this.#held = new HeldStarts(clock, (held: HeldStart) => {
      this.#batcher.push(this.#starts, held.op).then(held.resolve, held.reject);
    });
  }

  async add(record: NewRecord, options: AddOptions): Promise<AddResult> {
    return this.#batcher.push(this.#adds, addRequest(this.#names, record, options, this.keys));
  }

  async #sendAdds(requests: readonly AddRequest[]): Promise<Array<AddResult | Error>> {
    const names = this.#names;
    const args = requests.map((request) => {
      const claimed = request.owner !== undefined;
      const op = [
        request.taskKey,
        claimed ? names.activeKey(request.owner!) : '',
        claimed ? names.dispatcherHeartbeatKey(request.owner!) : '',
        request.placement,
        String(request.score),
        request.maxBacklog === undefined ? '' : String(request.maxBacklog),
        request.id,
      ];
      for (const field in request.fields) op.push(field, request.fields[field]!);
      return JSON.stringify(op);
    });
    const keys = [names.backlogKey, names.delayedKey];
    const replies = repliesOf(await ADD.run(this.#redis, keys, args), requests.length, 'add');
    return replies.map((reply) => {
      if (reply instanceof Error) return reply;
      if (typeof reply !== 'string' || !ADD_RESULTS.has(reply)) {
        // Only a script of another version could answer so; what it wrote is unknown.
        return unexpected('add', reply);
      }
      return reply as AddResult;
    });
  }

  async claim(
    owner: string,
    n: number,
    now: number,
    known?: KnownRecords,
  ): Promise<DurableRecord[]> {
    checkClaim(owner, n, now);
    const names = this.#names;
    const reply = await this.#batcher.push(this.#alone, {
      script: CLAIM,
      keys: [
        names.backlogKey,
        names.delayedKey,
        names.activeKey(owner),
        names.dispatcherHeartbeatKey(owner),
      ],
      args: [
        owner,
        String(n),
        String(now),
        names.taskKeyPrefix,
        String(DUE_BATCH),
        known ? '1' : '',
      ],
    });
    if (!known) return quarantine(rawRecords(reply), owner, now, this);
    // Lean: records built from the claimer's copies; the others read back, in claim order.
    const records: Array<DurableRecord | string> = [];
    const unknown: string[] = [];
    for (const item of Array.isArray(reply) ? (reply as unknown[]) : []) {
      // An id alone: none of the fields a waiting task may gain was set.
      const fields: unknown = typeof item === 'string' ? UNCHANGED : item;
      const id: unknown = typeof item === 'string' ? item : Array.isArray(item) && item[0];
      if (!Array.isArray(fields) || typeof id !== 'string') continue;
      const copy = known(id);
      const record = copy && knownRecord(copy, id, owner, fields);
      records.push(record ?? id);
      if (!record) unknown.push(id);
    }
    if (unknown.length === 0) return records as DurableRecord[];
    // If this read fails, the claim fails: its tasks are ours in Redis, and the owner's
    // orphan sweep runs them, as it does those of a claim whose reply was lost.
    const hashes = await Promise.all(
      unknown.map((id) => this.#batcher.push(this.#gets, names.taskKey(id))),
    );
    const raws = unknown.map((id, i) => ({ id, hash: hashes[i]! }));
    const read = new Map<string, DurableRecord>();
    for (const record of await quarantine(raws, owner, now, this)) read.set(record.id, record);
    return records.flatMap((r) => (typeof r === 'string' ? (read.get(r) ?? []) : [r]));
  }

  async started(
    id: string,
    owner: string,
    attempt: number,
    worker: string,
    now: number,
  ): Promise<StartedResult> {
    const key = this.#names.taskKey(id);
    checkStarted(owner, attempt, worker, now);
    return this.#held.hold({ id, key, owner, attempt, worker, now });
  }

  async #sendStarts(ops: readonly StartedOp[]): Promise<Array<StartedResult | Error>> {
    const args = ops.map((op) =>
      JSON.stringify([op.key, op.owner, String(op.attempt), op.worker, String(op.now)]),
    );
    const replies = repliesOf(await STARTED.run(this.#redis, [], args), ops.length, 'started');
    return replies.map((reply) =>
      reply instanceof Error ? reply : reply === 1 ? 'started' : reply === 2 ? 'cancel' : 'fenced',
    );
  }

  async settle(
    id: string,
    owner: string | undefined,
    outcome: Outcome,
    now: number,
  ): Promise<SettleResult> {
    const request = settleRequest(this.#names, id, owner, outcome, now, this.keys);
    const held = this.#held.take(id, request.owner);
    const settled = this.#batcher.push(this.#settles, { request, start: held?.op });
    if (held) {
      // The start it carried was written, fenced, exactly when the settle was.
      settled.then(
        (result) => held.resolve(result.kind === 'settled' ? 'started' : 'fenced'),
        held.reject,
      );
    }
    return settled;
  }

  async #sendSettles(ops: readonly SettleOp[]): Promise<Array<SettleResult | Error>> {
    const names = this.#names;
    const keys = [names.backlogKey, names.delayedKey];
    const args = [this.#settledChannel()];
    for (const { request, start } of ops) {
      args.push(
        JSON.stringify([
          request.taskKey,
          request.owner === undefined ? request.taskKey : names.activeKey(request.owner),
          request.id,
          request.owner ?? '',
          request.state,
          request.field ?? '',
          request.value,
          String(request.now),
          start === undefined ? '' : String(start.attempt),
          start === undefined ? '' : start.worker,
          start === undefined ? '' : String(start.now),
        ]),
      );
    }
    const replies = repliesOf(await SETTLE.run(this.#redis, keys, args), ops.length, 'settle');
    if (this.#announce) {
      const ids = ops.filter((_, i) => isSettled(replies[i])).map((op) => op.request.id);
      if (ids.length > 0) this.#announce(ids.join(' '));
    }
    return replies.map((reply, i): SettleResult | Error => {
      if (reply === 1) return SETTLED;
      if (reply instanceof Error || !Array.isArray(reply)) {
        return reply instanceof Error ? reply : { kind: 'unknown' };
      }
      const [kind, hash] = reply as unknown[];
      if (kind !== 'stale' && kind !== 'already') return { kind: 'unknown' };
      const record = decodeRecord(hashOf(hash), this.malformed, ops[i]!.request.id, this.keys);
      return record ? { kind, record } : { kind: 'unknown' };
    });
  }

  async release(id: string, owner: string, now: number): Promise<boolean> {
    const names = this.#names;
    const key = names.taskKey(id);
    const active = names.activeKey(checkId('owner', owner));
    checkNow(now);
    this.#held.release(id);
    const reply = await this.#batcher.push(this.#alone, {
      script: RELEASE,
      keys: [key, names.backlogKey, active],
      args: [id, owner, String(now), this.#settledChannel(), CANCELLED_JSON],
    });
    if (reply === 2) this.#announce?.(id);
    return reply === 1 || reply === 2;
  }

  async get(id: string): Promise<DurableRecord | undefined> {
    this.#held.release(id);
    const hash = await this.#batcher.push(this.#gets, this.#names.taskKey(id));
    return decodeRecord(hash, this.malformed, id, this.keys);
  }

  async peek(id: string): Promise<TaskPeek | undefined> {
    return this.#batcher.push(this.#peeks, this.#names.taskKey(id));
  }

  async #sendPeeks(keys: readonly string[]): Promise<Array<TaskPeek | undefined | Error>> {
    const replies = repliesOf(await PEEK.run(this.#redis, keys, []), keys.length, 'peek');
    return replies.map((reply) =>
      reply instanceof Error
        ? reply
        : Array.isArray(reply)
          ? peekOf(reply[0], reply[1])
          : undefined,
    );
  }

  async #sendGets(keys: readonly string[]): Promise<Array<Record<string, string> | Error>> {
    const replies = repliesOf(await GET.run(this.#redis, keys, []), keys.length, 'get');
    return replies.map((reply) => (reply instanceof Error ? reply : hashOf(reply)));
  }

  async cancel(id: string, now: number): Promise<CancelResult> {
    const names = this.#names;
    const key = names.taskKey(id);
    checkNow(now);
    this.#held.release(id);
    const reply = await this.#batcher.push(this.#alone, {
      script: CANCEL,
      keys: [key, names.backlogKey, names.delayedKey],
      args: [id, String(now), this.#settledChannel(), CANCELLED_JSON],
    });
    const [kind, owner] = Array.isArray(reply) ? (reply as unknown[]) : [];
    if (kind === 'cancelled') this.#announce?.(id);
    if (kind === 'cancelled' || kind === 'finished') return { kind };
    if (kind === 'requested' && isValidId(owner)) return { kind, owner };
    return { kind: 'unknown' };
  }

  /** Where the scripts announce settled ids: nowhere ('') when the store announces them itself. */
  #settledChannel(): string {
    return this.#announce ? '' : this.#names.settledChannel;
  }

  beat(id: string, entry: string, incarnation: string, ttlMs: number): Promise<void> {
    return this.#owners.beat(id, entry, incarnation, ttlMs);
  }

  leave(id: string): Promise<void> {
    return this.#owners.leave(id);
  }

  deadOwners(): Promise<string[]> {
    return this.#owners.deadOwners();
  }

  beating(id: string): Promise<boolean> {
    return this.#owners.beating(id);
  }

  adopt(dead: string, owner: string): Promise<DurableRecord[]> {
    return this.#owners.adopt(dead, owner);
  }

  reclaim(owner: string): Promise<DurableRecord[]> {
    return this.#owners.reclaim(owner);
  }

  activeIds(owner: string): Promise<string[]> {
    return this.#owners.activeIds(owner);
  }

  counts(): Promise<StoreCounts> {
    return this.#owners.counts();
  }
}
