// Adoption of a dead dispatcher's durable tasks, on the memory transport in virtual
// time: the dead one's process is killed (its timers stop, its sockets close) or
// paused (SIGSTOP: nothing of it runs, then everything that waited does).
import { ErrorCode, type TaskMessage } from '@ringcast/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import type { Dispatcher } from '../dispatcher.js';
import { closeAll, n, outcome, setup } from '../testing/core-fixture.js';
import { closeOn, holding, inProcess, run, type Setup } from '../testing/durable-fixture.js';

afterEach(closeAll);

/** Owner heartbeat of every dispatcher here: a dead one's key lapses 300 ms after its last beat. */
const BEAT = { ownerHeartbeatMs: 100 };

/** Subscribes to the settled channel: each terminal write publishes its id there once. */
async function settledLog(s: Setup): Promise<string[]> {
  const heard: string[] = [];
  const listener = s.redis.connect('settled-listener');
  // A message carries the ids one store call settled, space-separated.
  listener.onMessage((_, ids) => heard.push(...ids.split(' ')));
  const subscribed = listener.subscribe([n.settledChannel]);
  await s.clock.advance(0);
  await subscribed;
  return heard;
}

async function advanceUntil(s: Setup, done: () => boolean, maxMs: number): Promise<void> {
  for (let t = 0; !done() && t < maxMs; t += 10) await s.clock.advance(10);
}

async function states(s: Setup, d: Dispatcher, ids: string[]) {
  return Promise.all(ids.map((id) => run(s, d.task(id))));
}

describe('adopting the durable tasks of a dispatcher that died', () => {
  it('a live dispatcher adopts them within the TTL: a parked result settles its task without a re-run, the rest run again', async () => {
    const s = setup(BEAT);
    const { w, got } = holding(s, 'w1', 8);
    await s.join(w);
    await s.start();
    const heard = await settledLog(s);
    const victim = await inProcess(s, 'dv', BEAT);
    await s.clock.advance(300);
    const ids: string[] = [];
    for (const payload of ['a', 'b', 'c']) ids.push(await run(s, victim.d.submit('echo', payload)));
    await advanceUntil(s, () => got.length === 3, 500);
    expect(got.map((t) => t.token)).toEqual(ids.map((id) => `${id}.1`));

    victim.kill();
    const killedAt = s.clock.now();
    // Finished after the kill: its reply finds nobody subscribed and is parked for dv.
    await run(s, w.finish(got[0]!, 'A'));
    await advanceUntil(s, () => got.length === 5, 1_000);
    const adoptedAfter = s.clock.now() - killedAt;
    // Within its heartbeat's TTL (3 beats) and one beat of ours, plus the claim and send.
    expect(adoptedAfter).toBeLessThanOrEqual(3 * 100 + 100 + 50);
    expect(s.dispatcher.stats().durable).toMatchObject({ adopted: 3, parkedSettled: 1 });
    // Only b and c ran again, with their next attempt: tokens never repeat across owners.
    expect(got.slice(3).map((t) => t.token)).toEqual([`${ids[1]}.2`, `${ids[2]}.2`]);
    await run(s, w.finish(got[3]!, 'B'));
    await run(s, w.finish(got[4]!, 'C'));
    await advanceUntil(s, () => heard.length === 3, 500);

    const records = await states(s, s.dispatcher, ids);
    expect(records.map((r) => [r?.state, r?.result, r?.attempts])).toEqual([
      ['succeeded', 'A', 1],
      ['succeeded', 'B', 2],
      ['succeeded', 'C', 2],
    ]);
    await s.clock.advance(500);
    expect(heard.sort()).toEqual([...ids].sort());
    // Nothing of dv is left: no registration, no active set, no parked list.
    const keys = await run(
      s,
      s.transport.command!.command((r) => r.keys()),
    );
    expect(keys).not.toContain(n.activeKey('dv'));
    expect(keys).not.toContain(n.parkedKey('dv'));
    expect(keys).not.toContain(n.dispatcherHeartbeatKey('dv'));
  });

  it('with no dispatcher alive, the next one to start adopts them once the dead one’s heartbeat lapsed', async () => {
    const s = setup(BEAT);
    const { w, got } = holding(s, 'w1', 8);
    await s.join(w);
    const victim = await inProcess(s, 'dv', BEAT);
    await s.clock.advance(300);
    const id = await run(s, victim.d.submit('echo', 'x'));
    await advanceUntil(s, () => got.length === 1, 500);
    victim.kill();
    // Started while the dead one's key still lives: it adopts when the key lapses.
    await s.clock.advance(100);
    await s.start();
    await advanceUntil(s, () => got.length === 2, 1_000);
    expect(got[1]!.token).toBe(`${id}.2`);
    await run(s, w.finish(got[1]!, 'X'));
    await expect(run(s, s.dispatcher.result(id))).resolves.toBe('X');
  });

  it('a process restarted under the same id takes back its predecessor’s tasks at start, without waiting for the TTL', async () => {
    const s = setup(BEAT);
    const { w, got } = holding(s, 'w1', 8);
    await s.join(w);
    const victim = await inProcess(s, 'dv', BEAT);
    await s.clock.advance(300);
    const done = await run(s, victim.d.submit('echo', 'done'));
    const open = await run(s, victim.d.submit('echo', 'open'));
    await advanceUntil(s, () => got.length === 2, 500);
    victim.kill();
    await run(s, w.finish(got[0]!, 'D'));
    const restarted = await inProcess(s, 'dv', BEAT);
    await advanceUntil(s, () => got.length === 3, 200);
    expect(restarted.d.stats().durable).toMatchObject({ adopted: 2, parkedSettled: 1 });
    expect(got[2]!.token).toBe(`${open}.2`);
    await run(s, w.finish(got[2]!, 'O'));
    await expect(run(s, restarted.d.result(done))).resolves.toBe('D');
    await expect(run(s, restarted.d.result(open))).resolves.toBe('O');
    await closeOn(s, restarted.d);
  });

  it('a parked failure that another run could mend is no outcome: the task runs again', async () => {
    const s = setup(BEAT);
    const { w, got } = holding(s, 'w1', 8);
    await s.join(w);
    await s.start();
    const victim = await inProcess(s, 'dv', BEAT);
    await s.clock.advance(300);
    const retryable = await run(s, victim.d.submit('echo', 'r', { retries: 1 }));
    const final = await run(s, victim.d.submit('echo', 'f'));
    await advanceUntil(s, () => got.length === 2, 500);
    victim.kill();
    const fail = (task: TaskMessage, retry: boolean) =>
      run(s, w.fail(task, { name: 'Error', message: 'boom', retryable: retry }));
    await fail(got[0]!, true);
    await fail(got[1]!, false);
    await advanceUntil(s, () => got.length === 3, 1_000);
    expect(got[2]!.token).toBe(`${retryable}.2`);
    const error = await run(s, s.dispatcher.task(final));
    expect(error).toMatchObject({ state: 'failed', attempts: 1 });
    expect(error?.error).toMatchObject({
      code: ErrorCode.HANDLER_ERROR,
      remote: { message: 'boom' },
    });
  });
});

describe('a stale owner: paused past its TTL, then resumed', () => {
  it('its late outcome is fenced and counted; the adopter’s is the one stored, once', async () => {
    const s = setup(BEAT);
    const { w, got } = holding(s, 'w1', 8);
    await s.join(w);
    await s.start();
    const heard = await settledLog(s);
    const victim = await inProcess(s, 'dv', BEAT);
    await s.clock.advance(300);
    const id = await run(s, victim.d.submit('echo', 'p'));
    await advanceUntil(s, () => got.length === 1, 500);
    victim.pause(2_000);
    await advanceUntil(s, () => got.length === 2, 1_000);
    expect(got[1]!.token).toBe(`${id}.2`);
    // Both runs finish: the adopter's first, then the stale owner's, heard at its thaw.
    await run(s, w.finish(got[1]!, 'new'));
    await run(s, w.finish(got[0]!, 'old'));
    await s.clock.advance(2_500);
    const record = await run(s, s.dispatcher.task(id));
    expect(record).toMatchObject({ state: 'succeeded', result: 'new' });
    const late = victim.d.stats().durable;
    expect(late.staleSettles + late.lateWrites).toBe(1);
    expect(heard).toEqual([id]);
    // Resumed, it beats again and goes on as a live owner.
    expect(
      await run(
        s,
        s.transport.command!.command((r) => r.exists(n.dispatcherHeartbeatKey('dv'))),
      ),
    ).toBe(true);
    await closeOn(s, victim.d);
  });
});

describe('cancel(id) racing the owner’s claim', () => {
  it('a cancel the owner hears before it knows the task still cancels it: its first attempt record says so', async () => {
    const s = setup(BEAT);
    const { w, got } = holding(s, 'w1', 8);
    await s.join(w);
    await s.start();
    const owner = await inProcess(s, 'do', BEAT);
    await s.clock.advance(300);
    // The owner is paused while its submit is stored: it claims the task, then hears
    // the cancel before the reply that tells it the task is its own.
    owner.pause(200);
    const submitted = owner.d.submit('echo', 'c');
    await s.clock.advance(50);
    const ids = await run(
      s,
      s.transport.command!.command((r) =>
        r.smembers(n.activeKey('do')).filter((id) => r.exists(n.taskKey(id))),
      ),
    );
    expect(ids).toHaveLength(1);
    await expect(run(s, s.dispatcher.cancel(ids[0]!))).resolves.toBe(true);
    const id = await run(s, submitted);
    expect(id).toBe(ids[0]);
    await s.clock.advance(300);
    const record = await run(s, s.dispatcher.task(id));
    expect(record).toMatchObject({ state: 'cancelled' });
    expect(record?.error?.code).toBe(ErrorCode.CANCELLED);
    // Its worker was told to stop the attempt it had been sent.
    expect(got.map((t) => t.id)).toEqual([id]);
    expect(w.cancelled).toContain(`${id}.1`);
    await closeOn(s, owner.d);
  });
});

describe('orphans: active tasks of ours in Redis that we do not run', () => {
  it('a submit whose write applied but whose reply was lost rejects REDIS_ERROR, and its task still runs, once', async () => {
    const s = setup(BEAT);
    const { w, got } = holding(s, 'w1', 8);
    await s.join(w);
    await s.start();
    await s.clock.advance(300);
    const submitted = s.dispatcher.submit('echo', 'lost-reply');
    submitted.catch(() => undefined);
    // Redis applies the write (the task is claimed by d1), and the connection drops before the reply.
    s.transport.command!.drop('applied');
    await s.clock.advance(50);
    s.transport.command!.restore();
    await expect(run(s, submitted)).rejects.toMatchObject({ code: ErrorCode.REDIS_ERROR });
    // Found by the sweep every few beats, and run.
    await advanceUntil(s, () => got.length === 1, 2_000);
    expect(got[0]!.payload).toBe('lost-reply');
    expect(s.dispatcher.stats().durable.orphans).toBe(1);
    await run(s, w.finish(got[0]!, 'done'));
    await expect(run(s, s.dispatcher.result(got[0]!.id))).resolves.toBe('done');
    await s.clock.advance(2_000);
    expect(got).toHaveLength(1);
  });

  it('a claim Redis ran twice (re-sent after a lost reply) strands nothing: the first batch is found and run', async () => {
    const s = setup(BEAT);
    await s.start();
    const a = await run(s, s.dispatcher.submit('echo', 'A'));
    const b = await run(s, s.dispatcher.submit('echo', 'B'));
    const store = s.transport.durableStore();
    const claim = store.claim.bind(store);
    let first = true;
    store.claim = async (owner, n, now) => {
      if (first) {
        first = false;
        // The first run's answer never arrives; the re-sent command claims again.
        await claim(owner, 1, now);
      }
      return claim(owner, n, now);
    };
    const w = s.worker('w1', (task) => ({ ok: task.payload }));
    await s.join(w);
    await expect(run(s, s.dispatcher.result(a, { timeoutMs: 10_000 }))).resolves.toBe('A');
    await expect(run(s, s.dispatcher.result(b, { timeoutMs: 10_000 }))).resolves.toBe('B');
    expect(s.dispatcher.stats().durable.orphans).toBe(1);
  });
});

describe('found by review', () => {
  /** Counts the intervals set on the clock and not cleared. */
  function liveIntervals(s: Setup): Set<unknown> {
    const live = new Set<unknown>();
    const clock = s.clock;
    const setInterval = clock.setInterval.bind(clock);
    const clearTimer = clock.clearTimer.bind(clock);
    clock.setInterval = (fn, ms) => {
      const timer = setInterval(fn, ms);
      live.add(timer);
      return timer;
    };
    clock.clearTimer = (timer) => {
      live.delete(timer);
      clearTimer(timer);
    };
    return live;
  }

  function gate(): { wait: Promise<void>; open(): void } {
    let open!: () => void;
    const wait = new Promise<void>((resolve) => {
      open = resolve;
    });
    return { wait, open };
  }

  it('close() while start() takes back its predecessor’s tasks leaves nothing ticking', async () => {
    const s = setup(BEAT);
    const live = liveIntervals(s);
    const slow = gate();
    const takeParked = s.transport.takeParked.bind(s.transport);
    s.transport.takeParked = async (id) => {
      await slow.wait;
      return takeParked(id);
    };
    const started = outcome(s.dispatcher.start());
    await s.clock.advance(20);
    const closed = outcome(s.dispatcher.close());
    await s.clock.advance(20);
    slow.open();
    await s.clock.advance(3_000);
    expect(started.error).toMatchObject({ code: ErrorCode.CLOSED });
    expect(closed.settled).toBe(true);
    expect(live.size).toBe(0);
  });

  it('close() while start() awaits its first owner beat leaves no heartbeat going', async () => {
    const s = setup(BEAT);
    const live = liveIntervals(s);
    const slow = gate();
    const durableStore = s.transport.durableStore.bind(s.transport);
    let beats = 0;
    // One store, its beat held up at the first: start() asks for the store more than once.
    let store: ReturnType<typeof durableStore> | undefined;
    s.transport.durableStore = () => {
      if (store) return store;
      const made = durableStore();
      const beat = made.beat.bind(made);
      made.beat = async (...args) => {
        beats++;
        await beat(...args);
        if (beats === 1) await slow.wait;
      };
      store = made;
      return made;
    };
    const started = outcome(s.dispatcher.start());
    await s.clock.advance(20);
    const closed = outcome(s.dispatcher.close());
    await s.clock.advance(20);
    slow.open();
    await s.clock.advance(3_000);
    expect(started.settled && closed.settled).toBe(true);
    expect(live.size).toBe(0);
    expect(beats).toBe(1);
  });

  it('a submit whose write applied twice, the first while its owner’s heartbeat had lapsed, runs once with one token', async () => {
    const s = setup(BEAT);
    const { w, got } = holding(s, 'w1', 8);
    await s.join(w);
    await s.start();
    await s.clock.advance(300);
    // Its key lapsed (a pause, a write held up); its next beat restores it.
    const admin = s.redis.connect('admin');
    await run(
      s,
      admin.command((r) => r.del([n.dispatcherHeartbeatKey('d1')])),
    );
    const submitted = outcome(s.dispatcher.submit('echo', 'x'));
    // Applied as waiting (the owner had lapsed), the reply lost, sent again: 'exists'.
    s.transport.command!.drop('twice');
    await s.clock.advance(30);
    s.transport.command!.restore();
    await advanceUntil(s, () => got.length >= 1, 2_000);
    await s.clock.advance(1_000);
    expect(got.map((t) => t.token)).toEqual([`${submitted.value}.1`]);
    expect(w.cancelled).toEqual([]);
  });

  it('the orphan sweep leaves an adoption in progress alone: a parked result still settles its task without a re-run', async () => {
    const s = setup(BEAT);
    const { w, got } = holding(s, 'w1', 8);
    await s.join(w);
    await s.start();
    const victim = await inProcess(s, 'dv', BEAT);
    await s.clock.advance(300);
    await run(s, victim.d.submit('echo', 'a'));
    await advanceUntil(s, () => got.length === 1, 500);
    victim.kill();
    await run(s, w.finish(got[0]!, 'A'));
    // Reading dv's parked replies takes longer than the sweep's 5 beats.
    const takeParked = s.transport.takeParked.bind(s.transport);
    s.transport.takeParked = async (id) => {
      if (id === 'dv') await new Promise<void>((resolve) => s.clock.setTimeout(resolve, 700));
      return takeParked(id);
    };
    await s.clock.advance(2_000);
    expect(s.dispatcher.stats().durable).toMatchObject({ parkedSettled: 1, orphans: 0 });
    expect(got).toHaveLength(1);
  });
});
