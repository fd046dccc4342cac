/**
 * What every durable store owes the dispatcher, written once and run against
 * the in-memory store (`durable/memory-store.test.ts`, virtual time) and the
 * Redis store on a private redis-server (`test/durable/redis-store.test.ts`,
 * real time). A harness gives each test a fresh namespace, stores on their own
 * connections, and raw access to what is stored. Test-only: excluded from the build.
 */
import {
  backlogScore,
  ErrorCode,
  type Names,
  PRIORITY_MAX,
  PRIORITY_MIN,
  RingcastError,
} from '@ringcast/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DurableRecord, NewRecord } from '../durable/record.js';
import { encodeSpec } from '../durable/record-spec.js';
import type { DurableStore, SettledAnnouncer } from '../durable/store.js';
import { DispatchError } from '../errors.js';
import { encodeLegacyRecord } from './legacy-record.js';

/** A subscriber to one channel, collecting what it hears. */
export interface Listener {
  readonly messages: string[];
  close(): Promise<void>;
}

/** One test's view of a store's backend. */
export interface StoreHarness {
  readonly names: Names;
  /** A new store on its own connection; with `announce`, announcing settled ids through it. */
  store(announce?: SettledAnnouncer): DurableStore;
  /** The time of the clock Redis expires keys by, epoch ms. */
  now(): number;
  /** Every key under the test's namespace. */
  keys(): Promise<string[]>;
  pttl(key: string): Promise<number>;
  /** Writes hash fields as given: plants records no store would write. */
  hset(key: string, fields: Record<string, string>): Promise<void>;
  /** Adds a member to a sorted set as given: plants index entries no store would write. */
  zadd(key: string, score: number, member: string): Promise<void>;
  smembers(key: string): Promise<string[]>;
  /** Adds members to a set as given: plants index entries no store would write. */
  sadd(key: string, members: string[]): Promise<void>;
  zscore(key: string, member: string): Promise<number | null>;
  /** Subscribes a new connection to `channel`. */
  listen(channel: string): Promise<Listener>;
  /** Lets time pass (virtual, or real) until `check` holds; throws after `maxMs`. */
  until(check: () => boolean | Promise<boolean>, what: string, maxMs?: number): Promise<void>;
  /** Closes every connection it opened. */
  close(): Promise<void>;
}

const HOUR = 3_600_000;

function task(id: string, extra: Partial<NewRecord> = {}): NewRecord {
  return {
    id,
    handler: 'work',
    payload: { for: id },
    priority: 0,
    timeoutMs: 5_000,
    retries: 1,
    resultTtlMs: HOUR,
    ...extra,
  };
}

const ids = (records: readonly DurableRecord[]): string[] => records.map((r) => r.id);

/** A record as a read returns it: a payload carried as text (`payloadJson`) parsed. */
function withPayload(record: DurableRecord): DurableRecord {
  const { payloadJson, ...rest } = record;
  return payloadJson === undefined ? rest : { ...rest, payload: JSON.parse(payloadJson) };
}

/** Live heartbeats for the owners d1 and d2: a store lets only a live owner claim. */
async function beats(store: DurableStore): Promise<void> {
  await store.beat('d1', '{}', 'inc-1', HOUR);
  await store.beat('d2', '{}', 'inc-2', HOUR);
}

async function rejection(promise: Promise<unknown>): Promise<RingcastError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof RingcastError) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

export function describeStoreContract(label: string, open: () => Promise<StoreHarness>): void {
  describe(`durable store contract: ${label}`, () => {
    let h: StoreHarness;
    let store: DurableStore;
    let n: Names;

    beforeEach(async () => {
      h = await open();
      store = h.store();
      n = h.names;
    });

    /** Registers owners with a live heartbeat: an owner whose heartbeat lapsed claims nothing. */
    async function alive(...owners: string[]): Promise<void> {
      for (const owner of owners) await store.beat(owner, '{}', `inc-${owner}`, HOUR);
    }

    afterEach(async () => {
      await h.close();
    });

    describe('add', () => {
      it('stores a task due now as waiting in the backlog, with what the store sets', async () => {
        const now = h.now();
        expect(await store.add(task('t1', { key: 'k', expiresAt: now + 9 }), { now })).toBe(
          'added',
        );
        const record = await store.get('t1');
        expect(record).toEqual({
          id: 't1',
          handler: 'work',
          payload: { for: 't1' },
          state: 'waiting',
          priority: 0,
          attempts: 0,
          createdAt: now,
          expiresAt: now + 9,
          timeoutMs: 5_000,
          retries: 1,
          resultTtlMs: HOUR,
          key: 'k',
          cancelRequested: false,
        });
        expect(await store.counts()).toMatchObject({ waiting: 1, delayed: 0, active: 0 });
        // Kept until it finishes: only a finished record expires.
        expect(await h.pttl(n.taskKey('t1'))).toBe(-1);
      });

      it('keeps an undefined payload undefined and a null one null', async () => {
        const now = h.now();
        await store.add(task('none', { payload: undefined }), { now });
        await store.add(task('null', { payload: null }), { now });
        expect((await store.get('none'))!.payload).toBeUndefined();
        expect('payload' in (await store.get('none'))!).toBe(false);
        expect((await store.get('null'))!.payload).toBeNull();
      });

      it('stores a task due later as delayed, and claims it only once due', async () => {
        await alive('d1');
        const now = h.now();
        await store.add(task('later', { runAt: now + 1_000 }), { now });
        expect((await store.get('later'))!.state).toBe('delayed');
        expect(await store.counts()).toMatchObject({ waiting: 0, delayed: 1 });
        expect(await store.claim('d1', 10, now + 999)).toEqual([]);
        expect((await store.get('later'))!.state).toBe('delayed');
        const claimed = await store.claim('d1', 10, now + 1_000);
        expect(ids(claimed)).toEqual(['later']);
        expect(claimed[0]).toMatchObject({ state: 'active', owner: 'd1', runAt: now + 1_000 });
        expect(await store.counts()).toMatchObject({ waiting: 0, delayed: 0 });
      });

      it('a runAt not after now is due at once', async () => {
        const now = h.now();
        await store.add(task('due', { runAt: now }), { now });
        expect((await store.get('due'))!.state).toBe('waiting');
      });

      it('with claimBy, stores the task active for its submitter, attempts still 0', async () => {
        await alive('d1', 'd2');
        const now = h.now();
        await store.beat('d1', '{}', 'inc-1', HOUR);
        expect(await store.add(task('mine'), { now, claimBy: 'd1' })).toBe('claimed');
        expect(await store.get('mine')).toMatchObject({
          state: 'active',
          owner: 'd1',
          attempts: 0,
        });
        expect(await h.smembers(n.activeKey('d1'))).toEqual(['mine']);
        expect(await store.claim('d2', 10, now)).toEqual([]);
        expect(await store.counts()).toMatchObject({
          waiting: 0,
          active: 1,
          activeByOwner: { d1: 1 },
        });
      });

      it('refuses with full, writing nothing, once maxBacklog tasks wait or are delayed', async () => {
        await alive('d1', 'd2');
        const now = h.now();
        expect(await store.add(task('a'), { now, maxBacklog: 2 })).toBe('added');
        expect(await store.add(task('b', { runAt: now + HOUR }), { now, maxBacklog: 2 })).toBe(
          'added',
        );
        expect(await store.add(task('c'), { now, maxBacklog: 2 })).toBe('full');
        expect(await store.add(task('c', { runAt: now + HOUR }), { now, maxBacklog: 2 })).toBe(
          'full',
        );
        expect(await store.get('c')).toBeUndefined();
        expect(await h.keys()).not.toContain(n.taskKey('c'));
        // A claimed task does not wait.
        expect(await store.add(task('c'), { now, maxBacklog: 2, claimBy: 'd1' })).toBe('claimed');
        expect(await store.add(task('d'), { now, maxBacklog: 0, claimBy: 'd1' })).toBe('claimed');
        // Without a bound there is none.
        expect(await store.add(task('e'), { now })).toBe('added');
        expect(await store.add(task('f'), { now, maxBacklog: 3 })).toBe('full');
        await store.claim('d2', 1, now);
        expect(await store.add(task('f'), { now, maxBacklog: 3 })).toBe('added');
      });

      it('refuses with exists a taken id, also once finished, and changes nothing', async () => {
        await alive('d1');
        const now = h.now();
        await store.add(task('x', { payload: 'first' }), { now });
        expect(await store.add(task('x', { payload: 'second', priority: 9 }), { now })).toBe(
          'exists',
        );
        expect(await store.get('x')).toMatchObject({ payload: 'first', priority: 0 });
        await store.claim('d1', 1, now);
        await store.settle('x', 'd1', { state: 'succeeded', result: 1 }, now);
        expect(await store.add(task('x'), { now, claimBy: 'd1' })).toBe('exists');
        expect((await store.get('x'))!.state).toBe('succeeded');
      });

      const bad: Array<[string, Partial<NewRecord>, ErrorCode]> = [
        ['a priority above the bound', { priority: PRIORITY_MAX + 1 }, ErrorCode.INVALID_OPTIONS],
        ['a priority below the bound', { priority: PRIORITY_MIN - 1 }, ErrorCode.INVALID_OPTIONS],
        ['a fractional priority', { priority: 0.5 }, ErrorCode.INVALID_OPTIONS],
        ['an empty handler', { handler: '' }, ErrorCode.INVALID_OPTIONS],
        ['a handler name too long', { handler: 'h'.repeat(129) }, ErrorCode.INVALID_OPTIONS],
        ['a resultTtlMs of 0', { resultTtlMs: 0 }, ErrorCode.INVALID_OPTIONS],
        ['a negative timeoutMs', { timeoutMs: -1 }, ErrorCode.INVALID_OPTIONS],
        ['a NaN runAt', { runAt: Number.NaN }, ErrorCode.INVALID_OPTIONS],
        ['an empty key', { key: '' }, ErrorCode.INVALID_OPTIONS],
        ['an id no key can be named after', { id: 'a b' }, ErrorCode.INVALID_OPTIONS],
        ['a BigInt payload', { payload: 1n }, ErrorCode.INVALID_MESSAGE],
        ['a function payload', { payload: () => 1 }, ErrorCode.INVALID_MESSAGE],
      ];
      it.each(bad)('refuses %s with a typed error before writing', async (_what, extra, code) => {
        const error = await rejection(store.add(task('bad', extra), { now: h.now() }));
        expect(error.code).toBe(code);
        expect(await h.keys()).toEqual([]);
      });

      it('refuses bad options with INVALID_OPTIONS', async () => {
        const now = h.now();
        for (const options of [
          { now: -1 },
          { now: 2 ** 42 },
          { now: 1.5 },
          { now, maxBacklog: -1 },
          { now, claimBy: 'not an id' },
        ]) {
          const error = await rejection(store.add(task('bad'), options));
          expect(error.code).toBe(ErrorCode.INVALID_OPTIONS);
        }
        const later = await rejection(
          store.add(task('bad', { runAt: now + 1 }), { now, claimBy: 'd1' }),
        );
        expect(later).toBeInstanceOf(DispatchError);
        expect(await h.keys()).toEqual([]);
      });
    });

    describe('claim', () => {
      it('takes the highest priority first, then the oldest, in batches', async () => {
        await alive('d1', 'd2');
        const t = h.now();
        // [id, priority, created]: ids sort against the expected order, so a
        // store ordering by id or by insertion would fail.
        const tasks: Array<[string, number, number]> = [
          ['a', 0, t + 3],
          ['b', 5, t + 9],
          ['c', -3, t],
          ['d', 5, t + 2],
          ['e', 0, t + 1],
          ['f', PRIORITY_MAX, t + 50],
          ['g', PRIORITY_MIN, t],
        ];
        for (const [id, priority, created] of tasks) {
          await store.add(task(id, { priority }), { now: created });
        }
        expect(ids(await store.claim('d1', 3, t + 60))).toEqual(['f', 'd', 'b']);
        expect(ids(await store.claim('d2', 3, t + 60))).toEqual(['e', 'a', 'c']);
        expect(ids(await store.claim('d1', 3, t + 60))).toEqual(['g']);
        expect(await store.claim('d1', 3, t + 60)).toEqual([]);
      });

      it('keeps equal priorities first in, first out', async () => {
        await alive('d1');
        const t = h.now();
        const order = ['z', 'y', 'x', 'w', 'v'];
        for (const [i, id] of order.entries()) await store.add(task(id), { now: t + i });
        expect(ids(await store.claim('d1', 10, t + 10))).toEqual(order);
        // Within one millisecond, Redis's tie order decides: by id, bytewise.
        for (const id of ['m2', 'm10', 'M1']) await store.add(task(id), { now: t });
        expect(ids(await store.claim('d1', 10, t + 10))).toEqual(['M1', 'm10', 'm2']);
      });

      it('marks what it claims active, owned, and in the owner set', async () => {
        await alive('d1');
        const now = h.now();
        await store.add(task('t1'), { now });
        const [claimed] = await store.claim('d1', 1, now);
        expect(claimed).toMatchObject({ id: 't1', state: 'active', owner: 'd1', attempts: 0 });
        expect(await store.get('t1')).toEqual(claimed);
        expect(await h.smembers(n.activeKey('d1'))).toEqual(['t1']);
        expect(await store.counts()).toMatchObject({ waiting: 0 });
      });

      it('moves due delayed tasks into the backlog by priority and age, not by due time', async () => {
        await alive('d1');
        const t = h.now();
        await store.add(task('old-delayed', { priority: 5, runAt: t + 100 }), { now: t });
        await store.add(task('young-waiting', { priority: 5 }), { now: t + 50 });
        await store.add(task('urgent-delayed', { priority: 9, runAt: t + 80 }), { now: t + 60 });
        await store.add(task('low-waiting', { priority: 1 }), { now: t + 1 });
        expect(ids(await store.claim('d1', 10, t + 100))).toEqual([
          'urgent-delayed',
          'old-delayed',
          'young-waiting',
          'low-waiting',
        ]);
      });

      it('claims nothing with n = 0, but still moves due tasks', async () => {
        await alive('d1');
        const t = h.now();
        await store.add(task('soon', { runAt: t + 10 }), { now: t });
        expect(await store.claim('d1', 0, t + 10)).toEqual([]);
        expect((await store.get('soon'))!.state).toBe('waiting');
        expect(await store.counts()).toMatchObject({ waiting: 1, delayed: 0 });
      });

      it('never gives one task to two owners, with several connections claiming at once', async () => {
        const now = h.now();
        const total = 240;
        for (let i = 0; i < total; i++) {
          await store.add(task(`t${i}`, { priority: i % 7 }), { now: now + (i % 13) });
        }
        const owners = ['o1', 'o2', 'o3', 'o4', 'o5'];
        await alive(...owners);
        const stores = owners.map(() => h.store());
        const taken = new Map<string, string[]>();
        await Promise.all(
          owners.map(async (owner, i) => {
            const mine: string[] = [];
            taken.set(owner, mine);
            for (let round = 0; ; round++) {
              const claimed = await stores[i]!.claim(owner, 1 + ((round + i) % 6), now + 20);
              if (claimed.length === 0) break;
              for (const record of claimed) {
                expect(record.owner).toBe(owner);
                mine.push(record.id);
              }
            }
          }),
        );
        const all = [...taken.values()].flat();
        expect(all).toHaveLength(total);
        expect(new Set(all).size).toBe(total);
        // More than one owner took part, and each owns exactly what it was handed.
        expect([...taken.values()].filter((mine) => mine.length > 0).length).toBeGreaterThan(1);
        for (const owner of owners) {
          expect((await h.smembers(n.activeKey(owner))).sort()).toEqual(
            [...taken.get(owner)!].sort(),
          );
        }
      });

      it('with copies of its own tasks, returns the records it would have read, reading the rest', async () => {
        await alive('d1');
        const now = h.now();
        const mine = task('mine', { priority: 2, key: 'k1', expiresAt: now + HOUR });
        const text = task('text', {
          priority: 2,
          payload: undefined,
          payloadJson: '{"as":"text"}',
        });
        const bare = task('bare', { priority: 2, payload: undefined });
        await store.add(mine, { now });
        await store.add(text, { now: now + 1 });
        await store.add(bare, { now: now + 2 });
        await store.add(task('theirs', { priority: 1 }), { now: now + 3 });
        const copies = new Map(
          [mine, text, bare].map((r, i) => [r.id, { record: r, createdAt: now + i }]),
        );
        const claimed = await store.claim('d1', 10, now + 10, (id) => copies.get(id));
        expect(ids(claimed)).toEqual(['mine', 'text', 'bare', 'theirs']);
        for (const record of claimed)
          expect(withPayload(record)).toEqual(await store.get(record.id));
        expect((await h.smembers(n.activeKey('d1'))).sort()).toEqual(ids(claimed).sort());
      });

      it('with a copy, keeps what changed while it waited: attempts, worker, first start', async () => {
        await alive('d1');
        const now = h.now();
        const mine = task('mine');
        await store.add(mine, { now });
        await store.claim('d1', 1, now);
        expect(await store.started('mine', 'd1', 1, 'w1', now + 5)).toBe('started');
        expect(await store.release('mine', 'd1', now + 6)).toBe(true);
        const [record] = await store.claim('d1', 1, now + 7, (id) =>
          id === 'mine' ? { record: mine, createdAt: now } : undefined,
        );
        expect(record).toMatchObject({ attempts: 1, worker: 'w1', startedAt: now + 5 });
        expect(withPayload(record!)).toEqual(await store.get('mine'));
      });

      it('with a copy, a record whose changing fields do not read is read whole, and failed', async () => {
        await alive('d1');
        const now = h.now();
        const mine = task('mine');
        await store.add(mine, { now });
        await h.hset(n.taskKey('mine'), { attempts: 'many' });
        const claimed = await store.claim('d1', 1, now, () => ({ record: mine, createdAt: now }));
        expect(claimed).toEqual([]);
        expect(store.malformed.snapshot()).toEqual({ attempts: 1 });
        await h.until(
          async () =>
            (await store.get('mine')) === undefined && (await h.pttl(n.taskKey('mine'))) > 0,
          'the unreadable record failed and kept for its TTL',
        );
      });

      it('refuses bad arguments with INVALID_OPTIONS', async () => {
        await alive('d1');
        const now = h.now();
        for (const call of [
          () => store.claim('not an id', 1, now),
          () => store.claim('d1', -1, now),
          () => store.claim('d1', 1.5, now),
          () => store.claim('d1', 1, Number.NaN),
        ]) {
          expect((await rejection(call())).code).toBe(ErrorCode.INVALID_OPTIONS);
        }
      });
    });

    describe('started', () => {
      it("records the owner's attempts; startedAt is the first one's", async () => {
        await alive('d1');
        const now = h.now();
        await store.add(task('t1'), { now, claimBy: 'd1' });
        expect(await store.started('t1', 'd1', 1, 'w1', now + 5)).toBe('started');
        expect(await store.get('t1')).toMatchObject({
          attempts: 1,
          worker: 'w1',
          startedAt: now + 5,
        });
        expect(await store.started('t1', 'd1', 2, 'w2', now + 9)).toBe('started');
        expect(await store.get('t1')).toMatchObject({
          attempts: 2,
          worker: 'w2',
          startedAt: now + 5,
        });
      });

      it('refuses, writing nothing, a stale owner and a task that is not active', async () => {
        await alive('d1');
        const now = h.now();
        await store.add(task('t1'), { now, claimBy: 'd1' });
        await store.add(task('t2'), { now });
        const before = await store.get('t1');
        expect(await store.started('t1', 'd2', 1, 'w1', now)).toBe('fenced');
        expect(await store.get('t1')).toEqual(before);
        expect(await store.started('t2', 'd1', 1, 'w1', now)).toBe('fenced');
        expect(await store.get('t2')).toMatchObject({ attempts: 0, state: 'waiting' });
        expect(await store.get('t2')).not.toHaveProperty('worker');
        expect(await store.started('missing', 'd1', 1, 'w1', now)).toBe('fenced');
        expect(await h.keys()).not.toContain(n.taskKey('missing'));
      });

      it('says so when a cancel was requested before the attempt was recorded', async () => {
        await alive('d1');
        const now = h.now();
        await store.add(task('t1'), { now, claimBy: 'd1' });
        expect(await store.cancel('t1', now)).toEqual({ kind: 'requested', owner: 'd1' });
        expect(await store.started('t1', 'd1', 1, 'w1', now)).toBe('cancel');
        expect(await store.get('t1')).toMatchObject({ attempts: 1, state: 'active' });
      });
    });

    describe('settle', () => {
      it("writes the owner's outcome once, cleans its active set, keeps it for its TTL and announces it", async () => {
        await alive('d1');
        const now = h.now();
        const listener = await h.listen(n.settledChannel);
        await store.beat('d1', '{}', 'inc-1', HOUR);
        await store.add(task('t1', { resultTtlMs: 30_000 }), { now, claimBy: 'd1' });
        await store.started('t1', 'd1', 1, 'w1', now);
        const settled = await store.settle(
          't1',
          'd1',
          { state: 'succeeded', result: { sum: 3 } },
          now + 7,
        );
        expect(settled).toEqual({ kind: 'settled' });
        const record = await store.get('t1');
        expect(record).toMatchObject({
          state: 'succeeded',
          result: { sum: 3 },
          finishedAt: now + 7,
          attempts: 1,
        });
        expect(record).not.toHaveProperty('owner');
        expect(await h.smembers(n.activeKey('d1'))).toEqual([]);
        expect((await store.counts()).activeByOwner).toEqual({ d1: 0 });
        const ttl = await h.pttl(n.taskKey('t1'));
        expect(ttl).toBeGreaterThan(0);
        expect(ttl).toBeLessThanOrEqual(30_000);
        await h.until(() => listener.messages.includes('t1'), 'the settled id to be published');
        expect(listener.messages).toEqual(['t1']);
      });

      it('with an announcer, publishes nothing and hands it every id it settled, once', async () => {
        await alive('d1');
        const announced: string[] = [];
        const signed = h.store((ids) => announced.push(ids));
        const listener = await h.listen(n.settledChannel);
        const now = h.now();
        for (const id of ['t1', 't2', 't3', 'waits', 'runs']) {
          await signed.add(task(id), id === 'waits' ? { now } : { now, claimBy: 'd1' });
        }
        const outcome = { state: 'succeeded', result: 1 } as const;
        // One batch: two settle, one is refused (stale owner) and says nothing.
        const batch = await Promise.all([
          signed.settle('t1', 'd1', outcome, now),
          signed.settle('t2', 'd1', outcome, now),
          signed.settle('t3', 'd2', outcome, now),
        ]);
        expect(batch.map((r) => r.kind)).toEqual(['settled', 'settled', 'stale']);
        expect(await signed.cancel('waits', now)).toEqual({ kind: 'cancelled' });
        expect(await signed.cancel('runs', now)).toEqual({ kind: 'requested', owner: 'd1' });
        expect(await signed.release('runs', 'd1', now)).toBe(true);
        expect(await signed.settle('t1', 'd1', outcome, now)).toMatchObject({ kind: 'already' });
        expect(announced.flatMap((ids) => ids.split(' ')).sort()).toEqual([
          'runs',
          't1',
          't2',
          'waits',
        ]);
        // A plain store's announcement still reaches the channel; none came before it.
        await signed.add(task('t4'), { now, claimBy: 'd1' });
        await store.settle('t4', 'd1', outcome, now);
        await h.until(() => listener.messages.length > 0, 'the plain store to announce');
        expect(listener.messages).toEqual(['t4']);
      });

      it('refuses a stale owner with the record, changing nothing', async () => {
        await alive('d1');
        const now = h.now();
        await store.add(task('t1'), { now, claimBy: 'd1' });
        const result = await store.settle('t1', 'd2', { state: 'succeeded', result: 'late' }, now);
        expect(result.kind).toBe('stale');
        expect(result.kind === 'stale' && result.record).toMatchObject({
          owner: 'd1',
          state: 'active',
        });
        expect(await store.get('t1')).toMatchObject({ state: 'active', owner: 'd1' });
        expect(await h.smembers(n.activeKey('d1'))).toEqual(['t1']);
        expect(await h.pttl(n.taskKey('t1'))).toBe(-1);
        // Without an owner, an active task is someone else's too.
        const unowned = await store.settle(
          't1',
          undefined,
          { state: 'failed', error: { code: ErrorCode.EXPIRED, message: 'too late' } },
          now,
        );
        expect(unowned.kind).toBe('stale');
      });

      it('answers a late writer with the stored outcome, unchanged', async () => {
        await alive('d1');
        const now = h.now();
        const listener = await h.listen(n.settledChannel);
        await store.add(task('t1'), { now, claimBy: 'd1' });
        await store.settle('t1', 'd1', { state: 'succeeded', result: 'first' }, now + 1);
        const again = await store.settle(
          't1',
          'd1',
          { state: 'failed', error: { code: ErrorCode.TIMEOUT, message: 'second' } },
          now + 2,
        );
        expect(again.kind).toBe('already');
        expect(again.kind === 'already' && again.record).toMatchObject({
          state: 'succeeded',
          result: 'first',
          finishedAt: now + 1,
        });
        expect(await store.get('t1')).toMatchObject({ state: 'succeeded', result: 'first' });
        const other = await store.settle('t1', 'd2', { state: 'succeeded', result: 'x' }, now);
        expect(other.kind).toBe('already');
        await h.until(() => listener.messages.length > 0, 'the settled id');
        expect(listener.messages).toEqual(['t1']);
      });

      it('stores an error with its remote details as it came', async () => {
        await alive('d1');
        const now = h.now();
        await store.add(task('t1'), { now, claimBy: 'd1' });
        const error = {
          code: ErrorCode.HANDLER_ERROR,
          message: 'boom',
          remote: { name: 'TypeError', message: 'boom', retryable: false, code: 'E_BOOM' },
        };
        await store.settle('t1', 'd1', { state: 'failed', error }, now);
        expect(await store.get('t1')).toMatchObject({ state: 'failed', error });
      });

      it('a success without a value stores no result', async () => {
        await alive('d1');
        const now = h.now();
        await store.add(task('t1'), { now, claimBy: 'd1' });
        await store.settle('t1', 'd1', { state: 'succeeded' }, now);
        const record = await store.get('t1');
        expect(record!.state).toBe('succeeded');
        expect(record).not.toHaveProperty('result');
      });

      it('fails or cancels a waiting or delayed task without an owner, out of its index', async () => {
        await alive('d1');
        const now = h.now();
        await store.add(task('waits'), { now });
        await store.add(task('later', { runAt: now + HOUR }), { now });
        const expired = { code: ErrorCode.EXPIRED, message: 'not started in time' };
        expect(
          await store.settle('waits', undefined, { state: 'failed', error: expired }, now),
        ).toEqual({ kind: 'settled' });
        const cancelled = { code: ErrorCode.CANCELLED, message: 'no' };
        expect(
          await store.settle('later', undefined, { state: 'cancelled', error: cancelled }, now),
        ).toEqual({ kind: 'settled' });
        expect(await store.get('waits')).toMatchObject({ state: 'failed', error: expired });
        expect(await store.get('later')).toMatchObject({ state: 'cancelled', error: cancelled });
        expect(await store.counts()).toMatchObject({ waiting: 0, delayed: 0 });
        expect(await store.claim('d1', 10, now + 2 * HOUR)).toEqual([]);
      });

      it('refuses an owner on a task that waits, as stale', async () => {
        const now = h.now();
        await store.add(task('waits'), { now });
        const result = await store.settle('waits', 'd1', { state: 'succeeded', result: 1 }, now);
        expect(result.kind).toBe('stale');
        expect(await store.counts()).toMatchObject({ waiting: 1 });
      });

      it('answers unknown for an id with no record', async () => {
        expect(
          await store.settle('nobody', 'd1', { state: 'succeeded', result: 1 }, h.now()),
        ).toEqual({ kind: 'unknown' });
        expect(await h.keys()).toEqual([]);
      });

      it('refuses bad outcomes with a typed error', async () => {
        const now = h.now();
        await store.add(task('t1'), { now });
        const calls = [
          () => store.settle('t1', undefined, { state: 'succeeded', result: 1 }, now),
          () =>
            store.settle(
              't1',
              undefined,
              { state: 'failed', error: { code: 'NOPE' as ErrorCode, message: 'x' } },
              now,
            ),
          () =>
            store.settle(
              't1',
              undefined,
              { state: 'done' } as unknown as { state: 'succeeded' },
              now,
            ),
          () => store.settle('t1', 'not an id', { state: 'succeeded' }, now),
        ];
        for (const call of calls) {
          expect((await rejection(call())).code).toBe(ErrorCode.INVALID_OPTIONS);
        }
        const bigint = await rejection(
          store.settle('t1', 'd1', { state: 'succeeded', result: 1n }, now),
        );
        expect(bigint.code).toBe(ErrorCode.INVALID_MESSAGE);
        expect((await store.get('t1'))!.state).toBe('waiting');
      });
    });

    describe('release', () => {
      it('gives an active task back to the backlog, in its place by priority and age', async () => {
        await alive('d1', 'd2');
        const t = h.now();
        await store.add(task('young', { priority: 1 }), { now: t + 5 });
        await store.add(task('old', { priority: 1 }), { now: t });
        await store.add(task('low'), { now: t });
        expect(ids(await store.claim('d1', 1, t + 10))).toEqual(['old']);
        expect(await store.release('old', 'd1', t + 10)).toBe(true);
        const record = await store.get('old');
        expect(record).toMatchObject({ state: 'waiting' });
        expect(record).not.toHaveProperty('owner');
        expect(await h.smembers(n.activeKey('d1'))).toEqual([]);
        expect(ids(await store.claim('d2', 3, t + 10))).toEqual(['old', 'young', 'low']);
      });

      it('scores a task moved inside the store exactly as backlogScore does, at the bounds too', async () => {
        await alive('d1');
        const last = 2 ** 42 - 1;
        await store.add(task('due', { priority: PRIORITY_MIN, runAt: last }), { now: last - 1 });
        await store.add(task('first', { priority: PRIORITY_MAX }), { now: 0 });
        await store.add(task('edge', { priority: PRIORITY_MIN }), { now: last, claimBy: 'd1' });
        // Moved from delayed to the backlog by the store, with n = 0 so it stays there.
        await store.claim('d1', 0, last);
        expect(await h.zscore(n.backlogKey, 'due')).toBe(backlogScore(PRIORITY_MIN, last - 1));
        expect(ids(await store.claim('d1', 1, last))).toEqual(['first']);
        await store.release('first', 'd1', last);
        expect(await h.zscore(n.backlogKey, 'first')).toBe(backlogScore(PRIORITY_MAX, 0));
        // The largest score there is, 2001 * 2^42 - 1, survives exactly.
        await store.release('edge', 'd1', last);
        expect(await h.zscore(n.backlogKey, 'edge')).toBe(2001 * 2 ** 42 - 1);
        expect(ids(await store.claim('d1', 3, last))).toEqual(['first', 'due', 'edge']);
      });

      it('refuses a task that is not the releasing owner’s', async () => {
        await alive('d1');
        const now = h.now();
        await store.add(task('t1'), { now, claimBy: 'd1' });
        await store.add(task('t2'), { now });
        expect(await store.release('t1', 'd2', now)).toBe(false);
        expect(await store.release('t2', 'd1', now)).toBe(false);
        expect(await store.release('missing', 'd1', now)).toBe(false);
        expect(await store.get('t1')).toMatchObject({ state: 'active', owner: 'd1' });
        expect(await store.counts()).toMatchObject({ waiting: 1 });
      });
    });

    describe('cancel', () => {
      it('cancels a waiting and a delayed task at once, settled and announced', async () => {
        const now = h.now();
        const listener = await h.listen(n.settledChannel);
        await store.add(task('waits', { resultTtlMs: 5_000 }), { now });
        await store.add(task('later', { runAt: now + HOUR }), { now });
        expect(await store.cancel('waits', now + 3)).toEqual({ kind: 'cancelled' });
        expect(await store.cancel('later', now + 4)).toEqual({ kind: 'cancelled' });
        expect(await store.get('waits')).toMatchObject({
          state: 'cancelled',
          finishedAt: now + 3,
          error: { code: ErrorCode.CANCELLED },
        });
        expect((await store.get('later'))!.state).toBe('cancelled');
        expect(await store.counts()).toMatchObject({ waiting: 0, delayed: 0 });
        const ttl = await h.pttl(n.taskKey('waits'));
        expect(ttl).toBeGreaterThan(0);
        expect(ttl).toBeLessThanOrEqual(5_000);
        await h.until(() => listener.messages.length === 2, 'both ids published');
        expect(listener.messages.sort()).toEqual(['later', 'waits']);
      });

      it('asks the owner of an active task, and a release then cancels it', async () => {
        await alive('d1', 'd2');
        const now = h.now();
        await store.add(task('runs'), { now, claimBy: 'd1' });
        expect(await store.cancel('runs', now)).toEqual({ kind: 'requested', owner: 'd1' });
        expect(await store.get('runs')).toMatchObject({ state: 'active', cancelRequested: true });
        expect(await store.cancel('runs', now)).toEqual({ kind: 'requested', owner: 'd1' });
        // Its owner closes without finishing it: it does not go back to wait.
        expect(await store.release('runs', 'd1', now + 1)).toBe(true);
        expect(await store.get('runs')).toMatchObject({
          state: 'cancelled',
          error: { code: ErrorCode.CANCELLED },
        });
        expect(await store.claim('d2', 10, now + 1)).toEqual([]);
        expect(await h.pttl(n.taskKey('runs'))).toBeGreaterThan(0);
      });

      it('answers finished for a finished task and unknown for none', async () => {
        await alive('d1');
        const now = h.now();
        await store.add(task('done'), { now, claimBy: 'd1' });
        await store.settle('done', 'd1', { state: 'succeeded', result: 1 }, now);
        expect(await store.cancel('done', now)).toEqual({ kind: 'finished' });
        expect((await store.get('done'))!.state).toBe('succeeded');
        expect(await store.cancel('nobody', now)).toEqual({ kind: 'unknown' });
        expect(await h.keys()).not.toContain(n.taskKey('nobody'));
      });
    });

    describe('owners', () => {
      it('registers with a heartbeat; a lapsed heartbeat reads as dead; leave unregisters', async () => {
        await store.beat('alive', '{"id":"alive"}', 'inc-a', HOUR);
        await store.beat('fading', '{"id":"fading"}', 'inc-f', HOUR);
        expect(await store.deadOwners()).toEqual([]);
        // Refreshed with a short TTL, it lapses soon.
        await store.beat('fading', '{"id":"fading"}', 'inc-f', 100);
        const ttl = await h.pttl(n.dispatcherHeartbeatKey('fading'));
        expect(ttl).toBeGreaterThan(-2);
        expect(ttl).toBeLessThanOrEqual(100);
        await h.until(
          async () => (await store.deadOwners()).includes('fading'),
          'the short heartbeat to lapse',
        );
        expect(await store.deadOwners()).toEqual(['fading']);
        await store.leave('alive');
        expect(await h.keys()).not.toContain(n.dispatcherHeartbeatKey('alive'));
        expect(await store.deadOwners()).toEqual(['fading']);
        expect((await store.counts()).activeByOwner).toEqual({ fading: 0 });
      });

      it('a dispatcher that leaves still owning tasks stays registered, so they are adopted', async () => {
        await alive('d1');
        const now = h.now();
        await store.beat('d1', '{}', 'inc-1', HOUR);
        await store.add(task('t1'), { now, claimBy: 'd1' });
        await store.leave('d1');
        expect(await store.deadOwners()).toEqual(['d1']);
        await alive('d2');
        expect(ids(await store.adopt('d1', 'd2'))).toEqual(['t1']);
        expect(await store.deadOwners()).toEqual([]);
      });

      it('adopts a dead owner’s tasks exactly once, and never while its heartbeat lives', async () => {
        await alive('b', 'c');
        const now = h.now();
        await store.beat('dead', '{}', 'inc-d', HOUR);
        for (const id of ['t1', 't2', 't3']) await store.add(task(id), { now });
        await store.claim('dead', 3, now);
        await store.started('t2', 'dead', 1, 'w1', now);
        expect(await store.adopt('dead', 'b')).toEqual([]);
        expect((await store.get('t1'))!.owner).toBe('dead');
        expect(await h.smembers(n.activeKey('b'))).toEqual([]);
        // Its last heartbeat, with a short TTL: then it dies.
        await store.beat('dead', '{}', 'inc-d', 20);
        await h.until(
          async () => (await store.deadOwners()).includes('dead'),
          'the heartbeat to lapse',
        );
        const [fromB, fromC] = await Promise.all([
          h.store().adopt('dead', 'b'),
          h.store().adopt('dead', 'c'),
        ]);
        const winner = fromB.length > 0 ? 'b' : 'c';
        const adopted = fromB.length > 0 ? fromB : fromC;
        expect(fromB.length === 0 || fromC.length === 0).toBe(true);
        expect(ids(adopted).sort()).toEqual(['t1', 't2', 't3']);
        for (const record of adopted)
          expect(record).toMatchObject({ state: 'active', owner: winner });
        expect(adopted.find((r) => r.id === 't2')).toMatchObject({ attempts: 1, worker: 'w1' });
        expect((await h.smembers(n.activeKey(winner))).sort()).toEqual(['t1', 't2', 't3']);
        expect(await h.keys()).not.toContain(n.activeKey('dead'));
        expect(await store.deadOwners()).toEqual([]);
        expect(await store.adopt('dead', 'b')).toEqual([]);
        // The dead owner's late writes are fenced; the adopter's are not.
        expect((await store.settle('t1', 'dead', { state: 'succeeded' }, now)).kind).toBe('stale');
        expect(await store.started('t1', 'dead', 2, 'w1', now)).toBe('fenced');
        expect(await store.release('t1', 'dead', now)).toBe(false);
        expect((await store.settle('t1', winner, { state: 'succeeded' }, now)).kind).toBe(
          'settled',
        );
      });

      it('reclaims its own active tasks for a new process under the same id, and only those', async () => {
        await alive('d1');
        const now = h.now();
        await store.beat('d1', '{}', 'inc-old', HOUR);
        for (const id of ['t1', 't2', 't3']) await store.add(task(id), { now });
        await store.claim('d1', 3, now);
        await store.started('t2', 'd1', 2, 'w1', now);
        await store.settle('t3', 'd1', { state: 'succeeded', result: 1 }, now);
        // A member that is not an active task of d1 (settled meanwhile, or planted) is dropped.
        await h.sadd(n.activeKey('d1'), ['t3', 'stray']);
        const mine = await store.reclaim('d1');
        expect(ids(mine).sort()).toEqual(['t1', 't2']);
        for (const record of mine) expect(record).toMatchObject({ state: 'active', owner: 'd1' });
        expect(mine.find((r) => r.id === 't2')).toMatchObject({ attempts: 2, worker: 'w1' });
        expect((await h.smembers(n.activeKey('d1'))).sort()).toEqual(['t1', 't2']);
        // Still d1's: its writes count, another's do not.
        expect(await store.started('t1', 'd1', 1, 'w2', now)).toBe('started');
        expect((await store.settle('t1', 'other', { state: 'succeeded' }, now)).kind).toBe('stale');
        expect(await store.reclaim('nobody')).toEqual([]);
      });

      it('lists the ids in an owner’s active set, and only valid ones', async () => {
        await alive('d1', 'd2');
        const now = h.now();
        await store.add(task('t1'), { now, claimBy: 'd1' });
        await store.add(task('t2'), { now, claimBy: 'd1' });
        await store.add(task('t3'), { now, claimBy: 'd2' });
        await h.sadd(n.activeKey('d1'), ['bad id!']);
        expect((await store.activeIds('d1')).sort()).toEqual(['t1', 't2']);
        expect(await store.activeIds('nobody')).toEqual([]);
      });

      it('an owner whose heartbeat lapsed claims nothing: at add its task waits, the backlog keeps its tasks', async () => {
        const now = h.now();
        expect(await store.add(task('t1'), { now, claimBy: 'gone' })).toBe('added');
        expect(await store.get('t1')).toMatchObject({ state: 'waiting' });
        expect(await store.get('t1')).not.toHaveProperty('owner');
        expect(await h.zscore(n.backlogKey, 't1')).not.toBeNull();
        expect(await h.keys()).not.toContain(n.activeKey('gone'));
        expect(await store.claim('gone', 5, now)).toEqual([]);
        expect((await store.get('t1'))?.state).toBe('waiting');
        // Alive again (it beat), it claims.
        await store.beat('gone', '{}', 'inc-g', HOUR);
        expect(ids(await store.claim('gone', 5, now))).toEqual(['t1']);
      });

      it('an adopter whose own heartbeat lapsed adopts nothing: it may have been adopted itself', async () => {
        const now = h.now();
        await store.beat('a', '{}', 'inc-a', 20);
        await store.add(task('t1'), { now, claimBy: 'a' });
        await h.until(
          async () => (await store.deadOwners()).includes('a'),
          'the heartbeat to lapse',
        );
        // 'b' never beat (or its key lapsed too): its adopt is held up past its TTL.
        expect(await store.adopt('a', 'b')).toEqual([]);
        expect(await store.get('t1')).toMatchObject({ state: 'active', owner: 'a' });
        expect(await store.deadOwners()).toEqual(['a']);
        await alive('b');
        expect(ids(await store.adopt('a', 'b'))).toEqual(['t1']);
      });

      it('refuses to adopt its own tasks', async () => {
        expect((await rejection(store.adopt('d1', 'd1'))).code).toBe(ErrorCode.INVALID_OPTIONS);
      });
    });

    describe('peek', () => {
      it("gives a task's state and expiresAt without its record; undefined for none or unreadable", async () => {
        await alive('d1');
        const now = h.now();
        await store.add(task('plain', { priority: 1 }), { now });
        await store.add(task('bounded', { expiresAt: now + 500 }), { now });
        await store.add(task('later', { runAt: now + HOUR }), { now });
        await store.add(task('broken'), { now });
        await h.hset(n.taskKey('broken'), {
          spec: `[1,0,${now},${HOUR},"soon",null,5000,1,"work"]`,
        });
        await store.claim('d1', 1, now);
        const [plain, bounded, later, broken, none] = await Promise.all(
          ['plain', 'bounded', 'later', 'broken', 'none'].map((id) => store.peek(id)),
        );
        expect(plain).toEqual({ state: 'active' });
        expect(bounded).toEqual({ state: 'waiting', expiresAt: now + 500 });
        expect(later).toEqual({ state: 'delayed' });
        expect(broken).toBeUndefined();
        expect(none).toBeUndefined();
        await store.settle('plain', 'd1', { state: 'succeeded', result: 1 }, now);
        expect(await store.peek('plain')).toEqual({ state: 'succeeded' });
      });
    });

    describe('counts', () => {
      it('counts waiting, delayed and active per registered owner', async () => {
        await alive('d1', 'd2');
        const now = h.now();
        await store.beat('d1', '{}', 'inc-1', HOUR);
        await store.beat('d2', '{}', 'inc-2', HOUR);
        await store.add(task('w1'), { now });
        await store.add(task('w2'), { now });
        await store.add(task('w3'), { now });
        await store.add(task('l1', { runAt: now + HOUR }), { now });
        await store.add(task('a1'), { now, claimBy: 'd1' });
        await store.claim('d2', 2, now);
        expect(await store.counts()).toEqual({
          waiting: 1,
          delayed: 1,
          active: 3,
          activeByOwner: { d1: 1, d2: 2 },
        });
      });
    });

    describe('what Redis holds is not trusted', () => {
      it('reads a malformed record as undefined and counts why, never throwing', async () => {
        const now = h.now();
        await store.add(task('good'), { now });
        const good = await h.store().get('good');
        const fields = {
          id: 'x',
          handler: 'work',
          state: 'waiting',
          priority: '0',
          attempts: '0',
          createdAt: String(now),
          timeoutMs: '1',
          retries: '0',
          resultTtlMs: '1000',
        };
        const planted: Array<[string, Record<string, string>, string]> = [
          ['bad-state', { ...fields, id: 'bad-state', state: 'bogus' }, 'state'],
          ['bad-json', { ...fields, id: 'bad-json', payload: '{not json' }, 'payload'],
          [
            'bad-proto',
            { ...fields, id: 'bad-proto', payload: '{"__proto__":{"x":1}}' },
            'payload',
          ],
          ['bad-number', { ...fields, id: 'bad-number', priority: '1e3' }, 'priority'],
          ['bad-range', { ...fields, id: 'bad-range', priority: '1001' }, 'priority'],
          ['bad-owner', { ...fields, id: 'bad-owner', state: 'active' }, 'owner'],
          ['bad-id', { ...fields, id: 'someone-else' }, 'id'],
          [
            'bad-error',
            { ...fields, id: 'bad-error', error: '{"code":"NOPE","message":""}' },
            'error',
          ],
        ];
        for (const [id, hash] of planted) await h.hset(n.taskKey(id), hash);
        for (const [id, , field] of planted) {
          const before = store.malformed.snapshot()[field] ?? 0;
          expect(await store.get(id)).toBeUndefined();
          expect(store.malformed.snapshot()[field]).toBe(before + 1);
        }
        expect(store.malformed.total).toBe(planted.length);
        expect(good).toMatchObject({ id: 'good', state: 'waiting' });
        // Settling or cancelling one that cannot be read answers unknown, and writes nothing.
        expect(
          await store.settle(
            'bad-state',
            undefined,
            { state: 'cancelled', error: { code: ErrorCode.CANCELLED, message: '' } },
            now,
          ),
        ).toEqual({ kind: 'unknown' });
        expect(await store.cancel('bad-state', now)).toEqual({ kind: 'unknown' });
        expect(await h.pttl(n.taskKey('bad-state'))).toBe(-1);
      });

      it('fails a claimed record that cannot be read instead of returning it, and skips stray ids', async () => {
        await alive('d1');
        const now = h.now();
        const listener = await h.listen(n.settledChannel);
        await store.add(task('good', { priority: 1 }), { now });
        await store.add(task('broken'), { now });
        // Its handler is lost, as if written by hand or by a broken version.
        await h.hset(n.taskKey('broken'), {
          spec: encodeSpec({ ...task('broken'), handler: '', createdAt: now }),
        });
        await h.zadd(n.backlogKey, 0, 'no-record');
        await h.zadd(n.backlogKey, 0, 'not an id');
        await h.zadd(n.delayedKey, 0, 'no-record-either');
        const claimed = await store.claim('d1', 10, now);
        expect(ids(claimed)).toEqual(['good']);
        expect(store.malformed.snapshot()).toEqual({ handler: 1 });
        const raw = await h.smembers(n.activeKey('d1'));
        expect(raw).toEqual(['good']);
        expect(await store.counts()).toMatchObject({ waiting: 0, delayed: 0 });
        expect(await h.pttl(n.taskKey('broken'))).toBeGreaterThan(0);
        await h.until(() => listener.messages.includes('broken'), 'the broken id settled');
        expect(await h.keys()).not.toContain(n.taskKey('no-record'));
      });
    });

    // Records of the layout before the packed one (a field each), as a store upgraded in
    // place finds them: they are claimed in their place, run, settled, cancelled, released.
    describe('records written before the packed layout', () => {
      const legacy = (id: string, now: number, extra: Partial<DurableRecord> = {}) =>
        encodeLegacyRecord({
          ...task(id),
          state: 'waiting',
          attempts: 0,
          createdAt: now,
          cancelRequested: false,
          ...extra,
        });

      it('claims them by priority then age among new ones, and settles them with their TTL', async () => {
        await alive('d1');
        const t = h.now();
        await h.hset(n.taskKey('old-waiting'), legacy('old-waiting', t, { priority: 5 }));
        await h.zadd(n.backlogKey, backlogScore(5, t), 'old-waiting');
        const delayed = { priority: 9, runAt: t + 10, state: 'delayed' } as const;
        await h.hset(n.taskKey('old-delayed'), legacy('old-delayed', t, delayed));
        await h.zadd(n.delayedKey, t + 10, 'old-delayed');
        await store.add(task('new-waiting', { priority: 5 }), { now: t + 1 });
        const claimed = await store.claim('d1', 2, t + 10);
        expect(claimed.map(withPayload)).toEqual([
          expect.objectContaining({
            id: 'old-delayed',
            state: 'active',
            owner: 'd1',
            runAt: t + 10,
          }),
          expect.objectContaining({ id: 'old-waiting', payload: { for: 'old-waiting' } }),
        ]);
        expect(await store.started('old-waiting', 'd1', 1, 'w1', t + 11)).toBe('started');
        const short = { resultTtlMs: 30_000, state: 'active', owner: 'd1', attempts: 1 } as const;
        await h.hset(n.taskKey('old-active'), legacy('old-active', t, short));
        await h.sadd(n.activeKey('d1'), ['old-active']);
        const outcome = { state: 'succeeded', result: 'done' } as const;
        expect(await store.settle('old-active', 'd1', outcome, t + 12)).toEqual({
          kind: 'settled',
        });
        expect(await store.settle('old-waiting', 'd1', outcome, t + 12)).toEqual({
          kind: 'settled',
        });
        const ttl = await h.pttl(n.taskKey('old-active'));
        expect(ttl).toBeGreaterThan(0);
        expect(ttl).toBeLessThanOrEqual(30_000);
        expect(await h.pttl(n.taskKey('old-waiting'))).toBeGreaterThan(30_000);
        expect(await store.get('old-waiting')).toMatchObject({
          state: 'succeeded',
          result: 'done',
          attempts: 1,
          worker: 'w1',
          startedAt: t + 11,
        });
        expect(ids(await store.claim('d1', 5, t + 20))).toEqual(['new-waiting']);
      });

      it('peeks, cancels and releases them as new ones', async () => {
        await alive('d1');
        const t = h.now();
        await h.hset(n.taskKey('bounded'), legacy('bounded', t, { expiresAt: t + 500 }));
        await h.zadd(n.backlogKey, backlogScore(0, t), 'bounded');
        const held = { state: 'active', owner: 'd1', priority: 3 } as const;
        await h.hset(n.taskKey('held'), legacy('held', t, held));
        await h.sadd(n.activeKey('d1'), ['held']);
        expect(await store.peek('bounded')).toEqual({ state: 'waiting', expiresAt: t + 500 });
        expect(await store.cancel('bounded', t + 1)).toEqual({ kind: 'cancelled' });
        expect(await store.get('bounded')).toMatchObject({ state: 'cancelled' });
        expect(await store.release('held', 'd1', t + 2)).toBe(true);
        expect(await h.zscore(n.backlogKey, 'held')).toBe(backlogScore(3, t));
        expect(await store.get('held')).toMatchObject({ state: 'waiting', priority: 3 });
      });
    });

    // A store may gather the operations issued in one turn into fewer calls (the Redis
    // store does): each must still answer as if it had been made alone, in issue order.
    describe('operations issued in one turn', () => {
      it('adds: each its own answer, in order, full counted across them', async () => {
        const now = h.now();
        await beats(store);
        const answers = await Promise.all([
          store.add(task('a'), { now, maxBacklog: 3 }),
          store.add(task('b', { runAt: now + HOUR }), { now, maxBacklog: 3 }),
          store.add(task('a', { payload: 'again' }), { now }),
          store.add(task('c'), { now, maxBacklog: 3, claimBy: 'd1' }),
          store.add(task('d'), { now, maxBacklog: 3 }),
          store.add(task('e'), { now, maxBacklog: 3 }),
          store.add(task('f', { runAt: now + HOUR }), { now, maxBacklog: 3 }),
          store.add(task('g'), { now, claimBy: 'd1' }),
        ]);
        expect(answers).toEqual([
          'added',
          'added',
          'exists',
          'claimed',
          'added',
          'full',
          'full',
          'claimed',
        ]);
        expect(await store.get('a')).toMatchObject({ payload: { for: 'a' }, state: 'waiting' });
        expect(await store.get('e')).toBeUndefined();
        expect((await h.smembers(n.activeKey('d1'))).sort()).toEqual(['c', 'g']);
        expect(await store.counts()).toMatchObject({ waiting: 2, delayed: 1 });
        expect(ids(await store.claim('d2', 10, now))).toEqual(['a', 'd']);
      });

      it('more of them than one call carries, every one stored', async () => {
        const now = h.now();
        await beats(store);
        const count = 450;
        const answers = await Promise.all(
          Array.from({ length: count }, (_, i) =>
            store.add(task(`many-${i}`, { priority: i % 3 }), { now }),
          ),
        );
        expect(answers).toEqual(Array(count).fill('added'));
        expect((await store.counts()).waiting).toBe(count);
        const records = await Promise.all(
          Array.from({ length: count }, (_, i) => store.get(`many-${i}`)),
        );
        expect(records.map((r) => r?.payload)).toEqual(
          Array.from({ length: count }, (_, i) => ({ for: `many-${i}` })),
        );
      });

      it('started: fenced one by one', async () => {
        const now = h.now();
        await beats(store);
        await store.add(task('mine'), { now, claimBy: 'd1' });
        await store.add(task('theirs'), { now, claimBy: 'd2' });
        await store.add(task('waits'), { now });
        const answers = await Promise.all([
          store.started('mine', 'd1', 1, 'w1', now + 1),
          store.started('theirs', 'd1', 1, 'w1', now + 1),
          store.started('waits', 'd1', 1, 'w1', now + 1),
          store.started('none', 'd1', 1, 'w1', now + 1),
          store.started('mine', 'd1', 2, 'w2', now + 2),
        ]);
        expect(answers).toEqual(['started', 'fenced', 'fenced', 'fenced', 'started']);
        expect(await store.get('mine')).toMatchObject({
          attempts: 2,
          worker: 'w2',
          startedAt: now + 1,
        });
        expect(await store.get('theirs')).toMatchObject({ attempts: 0 });
        expect(await store.get('theirs')).not.toHaveProperty('worker');
      });

      it('settles: each answered as alone, the first write of one task winning, all announced', async () => {
        const now = h.now();
        await beats(store);
        const listener = await h.listen(n.settledChannel);
        for (const id of ['s1', 's2', 'twice']) await store.add(task(id), { now, claimBy: 'd1' });
        await store.add(task('theirs'), { now, claimBy: 'd2' });
        await store.add(task('waits'), { now });
        const error = { code: ErrorCode.EXPIRED, message: 'too late' };
        const answers = await Promise.all([
          store.settle('s1', 'd1', { state: 'succeeded', result: 1 }, now + 1),
          store.settle('twice', 'd1', { state: 'succeeded', result: 'first' }, now + 1),
          store.settle('theirs', 'd1', { state: 'succeeded', result: 2 }, now + 1),
          store.settle('none', 'd1', { state: 'succeeded', result: 3 }, now + 1),
          store.settle('waits', undefined, { state: 'failed', error }, now + 1),
          store.settle('twice', 'd1', { state: 'succeeded', result: 'second' }, now + 2),
          store.settle('s2', 'd1', { state: 'succeeded' }, now + 1),
        ]);
        expect(answers.map((a) => a.kind)).toEqual([
          'settled',
          'settled',
          'stale',
          'unknown',
          'settled',
          'already',
          'settled',
        ]);
        expect(answers[5]).toMatchObject({ record: { result: 'first', finishedAt: now + 1 } });
        expect(answers[2]).toMatchObject({ record: { state: 'active', owner: 'd2' } });
        expect(await store.get('waits')).toMatchObject({ state: 'failed', error });
        expect(await h.smembers(n.activeKey('d1'))).toEqual([]);
        expect(await store.counts()).toMatchObject({ waiting: 0, activeByOwner: { d1: 0 } });
        // A message may carry several ids, space-separated.
        const announced = () => listener.messages.flatMap((m) => m.split(' ')).sort();
        await h.until(() => announced().length === 4, 'every settled id announced');
        expect(announced()).toEqual(['s1', 's2', 'twice', 'waits']);
      });

      it('a start is seen by what follows it, and written with its settle, fenced the same', async () => {
        const now = h.now();
        await beats(store);
        for (const id of ['read', 'done']) await store.add(task(id), { now, claimBy: 'd1' });
        await store.add(task('theirs'), { now, claimBy: 'd2' });
        const [started, read] = await Promise.all([
          store.started('read', 'd1', 1, 'w1', now + 1),
          store.get('read'),
        ]);
        expect(started).toBe('started');
        expect(read).toMatchObject({ attempts: 1, worker: 'w1', startedAt: now + 1 });
        const mine = store.started('done', 'd1', 1, 'w9', now + 5);
        const stale = store.started('theirs', 'd1', 1, 'w9', now + 5);
        expect(await store.settle('done', 'd1', { state: 'succeeded' }, now + 6)).toEqual({
          kind: 'settled',
        });
        expect((await store.settle('theirs', 'd1', { state: 'succeeded' }, now + 6)).kind).toBe(
          'stale',
        );
        expect([await mine, await stale]).toEqual(['started', 'fenced']);
        expect(await store.get('done')).toMatchObject({
          state: 'succeeded',
          attempts: 1,
          worker: 'w9',
          startedAt: now + 5,
          finishedAt: now + 6,
        });
        expect(await store.get('theirs')).toMatchObject({ state: 'active', attempts: 0 });
        expect(await store.get('theirs')).not.toHaveProperty('worker');
      });

      it('mixed kinds on one task apply in the order they were issued', async () => {
        const now = h.now();
        await beats(store);
        const [added, read, started, settled, late] = await Promise.all([
          store.add(task('t'), { now, claimBy: 'd1' }),
          store.get('t'),
          store.started('t', 'd1', 1, 'w1', now + 1),
          store.settle('t', 'd1', { state: 'succeeded', result: 'ok' }, now + 2),
          store.started('t', 'd1', 2, 'w2', now + 3),
        ]);
        expect(added).toBe('claimed');
        expect(read).toMatchObject({ state: 'active', owner: 'd1', attempts: 0 });
        expect(started).toBe('started');
        expect(settled).toEqual({ kind: 'settled' });
        expect(late).toBe('fenced');
        expect(await store.get('t')).toMatchObject({
          state: 'succeeded',
          attempts: 1,
          worker: 'w1',
          result: 'ok',
        });
      });
    });

    it('leaves no key behind once every finished record expired', async () => {
      const t = h.now();
      await store.beat('d1', '{}', 'inc-1', HOUR);
      const baseline = (await h.keys()).sort();
      // Long enough that none expires before they are counted on a busy machine.
      const ttl = { resultTtlMs: 1_500 };
      for (let i = 0; i < 10; i++) {
        await store.add(task(`wait-${i}`, { ...ttl, priority: i % 3 }), { now: t });
        await store.add(task(`later-${i}`, { ...ttl, runAt: t + 5 }), { now: t });
        await store.add(task(`mine-${i}`, ttl), { now: t, claimBy: 'd1' });
      }
      await store.cancel('wait-0', t);
      await store.cancel('later-0', t);
      const claimed = await store.claim('d1', 100, t + 5);
      expect(claimed).toHaveLength(18);
      for (const [i, id] of [
        ...ids(claimed),
        ...Array.from({ length: 10 }, (_, i) => `mine-${i}`),
      ].entries()) {
        // As a dispatcher does: the attempt's start is not waited for before its outcome.
        const started = store.started(id, 'd1', 1, 'w1', t + 6);
        const outcome =
          i % 4 === 0
            ? ({ state: 'failed', error: { code: ErrorCode.TIMEOUT, message: 'slow' } } as const)
            : ({ state: 'succeeded', result: i } as const);
        expect((await store.settle(id, 'd1', outcome, t + 7)).kind).toBe('settled');
        expect(await started).toBe('started');
      }
      // Every index is empty at once; only the records wait for their TTL.
      const left = await h.keys();
      for (const index of [n.backlogKey, n.delayedKey, n.activeKey('d1')]) {
        expect(left).not.toContain(index);
      }
      expect(left.length).toBe(baseline.length + 30);
      await h.until(
        async () => (await h.keys()).length === baseline.length,
        'records to expire',
        10_000,
      );
      expect((await h.keys()).sort()).toEqual(baseline);
    });
  });
}
