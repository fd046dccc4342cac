// The fault-injection suite of issue 5: real faults in real processes (CLI workers,
// a private redis-server per scenario), every task checked against a settlement
// ledger. Scenarios run one after another: on 2 cores they would only slow each
// other down. Prints one table at the end; `npm run faults -- --tasks N` scales it.
import type { Dispatcher } from '@ringcast/dispatcher';
import { names, PROTOCOL_VERSION } from '@ringcast/protocol';
import { afterAll, describe, expect, it } from 'vitest';
import { privateRedisAvailable } from '../support/redis.js';
import {
  type Expectations,
  expectNoFaultExactlyOnce,
  scenario,
  settleScenario,
} from './expectations.js';
import {
  CALM,
  DISPATCHER_DEFAULTS,
  HEARTBEAT_TTL_MS,
  KILL_ATTEMPTS,
  RATE_PER_SEC,
  SCENARIO_TIMEOUT_MS,
  type Scenario,
  sleep,
  TASKS,
  until,
} from './harness.js';
import { type LedgerReport, publishTable } from './ledger.js';

const reports: LedgerReport[] = [];

/** Drains the ledger, stops the workers, reads their run logs, records the row, asserts. */
function settle(s: Scenario, x: Expectations = {}): Promise<LedgerReport> {
  return settleScenario(s, reports, x);
}

/**
 * Feeds the scenario's tasks while, every `everyMs`, killing (CLIENT KILL) the
 * subscriber connection named by `connection(round)`; returns how many it killed.
 */
async function killConnectionsWhileFeeding(
  s: Scenario,
  d: Dispatcher,
  everyMs: number,
  connection: (round: number) => string,
): Promise<number> {
  const admin = s.client();
  let kills = 0;
  let feeding = true;
  const chaos = (async () => {
    for (let round = 0; feeding; round++) {
      await sleep(everyMs);
      const id = await s.subscriberId(connection(round));
      if (id && (await admin.call('CLIENT', 'KILL', 'ID', id)) === 1) kills++;
    }
  })();
  await s.feed(d, TASKS);
  feeding = false;
  await chaos;
  return kills;
}

describe.skipIf(!privateRedisAvailable)('fault injection: every task settles exactly once', () => {
  afterAll(() =>
    publishTable(`ringcast fault-injection suite (${TASKS} tasks per scenario)`, 'faults', reports),
  );

  it(
    '1. no fault, 3 workers: every task runs exactly once',
    () => scenario('1 no fault', (s) => expectNoFaultExactlyOnce(s, reports)),
    SCENARIO_TIMEOUT_MS,
  );

  it(
    '2. kill -9 a worker and restart it every few hundred ms',
    () =>
      scenario('2 kill -9 workers', async (s) => {
        await s.threeWorkers();
        // A kill every ~250 ms on 2 cores (each restart costs a node start-up) can catch a
        // task on three dying workers in a row; the limit is a user's knob, sized to the fault.
        const d = await s.dispatcher({ maxAttempts: KILL_ATTEMPTS });
        await s.routable(d, 3);
        let feeding = true;
        const chaos = s.workerKillLoop(250, () => feeding);
        await s.feed(d, TASKS);
        feeding = false;
        const killed = await chaos;
        await settle(s, { killed, attemptLimit: KILL_ATTEMPTS });
        expect(killed.size).toBeGreaterThanOrEqual(3);
        expect(d.stats().redelivered).toBeGreaterThan(0);
      }),
    SCENARIO_TIMEOUT_MS,
  );

  it(
    '3. SIGSTOP a worker past its heartbeat TTL: its tasks complete elsewhere, late results are dropped',
    () =>
      scenario('3 SIGSTOP > TTL', async (s) => {
        const [w1] = await s.threeWorkers();
        const d = await s.dispatcher();
        await s.routable(d, 3);
        let paused = false;
        const feeding = s.feed(d, TASKS, {
          onTick: (n) => {
            if (!paused && n >= TASKS / 4) {
              paused = true;
              w1!.pause();
              setTimeout(() => w1!.resume(), HEARTBEAT_TTL_MS * 2.5);
            }
          },
        });
        await feeding;
        await until(() => paused, 10_000, 'the pause');
        await s.ledger.drain(DISPATCHER_DEFAULTS.timeoutMs);
        // The thawed worker finishes what it held; those results are for fenced-off attempts.
        await until(() => d.stats().staleReplies > 0, 10_000, 'late results to be dropped');
        const report = await settle(s);
        const movedAway = s.ledger
          .keys()
          .filter((k) => s.ledger.runs(k).some((r) => r.worker === 'w1'))
          .filter((k) => s.ledger.runs(k).length > 1);
        expect(movedAway.length, JSON.stringify(report)).toBeGreaterThan(0);
        expect(d.stats().redelivered).toBeGreaterThan(0);
      }),
    SCENARIO_TIMEOUT_MS,
  );

  it(
    '4. SIGSTOP a worker shorter than its TTL: nothing is redelivered, every task runs once',
    () =>
      scenario('4 SIGSTOP < TTL', async (s) => {
        // Interval 200 ms, TTL 2 s: a 600 ms pause cannot lapse the key.
        const [w1] = await s.threeWorkers({ heartbeatTtlMs: 2_000 });
        const d = await s.dispatcher({ ackTimeoutMs: 3_000 });
        await s.routable(d, 3);
        let paused = false;
        await s.feed(d, TASKS, {
          onTick: (n) => {
            if (!paused && n >= TASKS / 4) {
              paused = true;
              w1!.pause();
              setTimeout(() => w1!.resume(), 600);
            }
          },
        });
        await settle(s, { exactlyOnce: true });
        expect(paused).toBe(true);
        expect(d.stats().redelivered).toBe(0);
      }),
    SCENARIO_TIMEOUT_MS,
  );

  it(
    "5. CLIENT KILL a worker's subscriber connection mid-run",
    () =>
      scenario('5 CLIENT KILL worker sub', async (s) => {
        await s.threeWorkers();
        const d = await s.dispatcher();
        await s.routable(d, 3);
        const kills = await killConnectionsWhileFeeding(
          s,
          d,
          300,
          (round) => `ringcast-worker:w${(round % 3) + 1}`,
        );
        await settle(s);
        expect(kills).toBeGreaterThanOrEqual(3);
      }),
    SCENARIO_TIMEOUT_MS,
  );

  it(
    "6. CLIENT KILL the dispatcher's reply subscriber mid-run: tasks settle with their real results",
    () =>
      scenario('6 CLIENT KILL reply sub', async (s) => {
        await s.threeWorkers();
        const d = await s.dispatcher();
        await s.routable(d, 3);
        const kills = await killConnectionsWhileFeeding(
          s,
          d,
          200,
          () => `ringcast:dispatcher:${d.id}`,
        );
        await settle(s);
        expect(kills).toBeGreaterThanOrEqual(3);
      }),
    SCENARIO_TIMEOUT_MS,
  );

  it(
    '7. kill -9 redis-server mid-run and restart it empty: workers re-register, every task settles',
    () =>
      scenario('7 kill -9 redis', async (s) => {
        await s.threeWorkers();
        const d = await s.dispatcher();
        await s.routable(d, 3);
        let restarts = 0;
        let feeding = true;
        const chaos = (async () => {
          while (feeding || restarts < 3) {
            await sleep(800);
            await s.redis.restart();
            restarts++;
            await s.routable(d, 3, 15_000);
          }
        })();
        // Longer handlers, so results are on their way while Redis dies.
        await s.feed(d, TASKS, { payload: (i) => ({ ms: 20 + (i % 10) * 20 }) });
        feeding = false;
        await chaos;
        await settle(s);
        expect(restarts).toBeGreaterThanOrEqual(3);
      }),
    SCENARIO_TIMEOUT_MS,
  );

  it(
    '8. SIGSTOP redis-server for twice the heartbeat TTL: TIMEOUT for what outlived its timeout, the rest completes',
    () =>
      scenario('8 SIGSTOP redis', async (s) => {
        await s.threeWorkers();
        const d = await s.dispatcher();
        await s.routable(d, 3);
        // Half the tasks may not outlive the pause, half may: the first must time out
        // on time, the second must complete.
        const short = 1_000;
        let paused = false;
        await s.feed(d, TASKS, {
          timeoutMs: (i) => (i % 2 === 0 ? short : DISPATCHER_DEFAULTS.timeoutMs),
          onTick: (n) => {
            if (!paused && n >= TASKS / 4) {
              paused = true;
              s.redis.pause();
              setTimeout(() => s.redis.resume(), HEARTBEAT_TTL_MS * 2);
            }
          },
        });
        const report = await settle(s, { allowed: ['TIMEOUT'] });
        expect(report.errorCodes['TIMEOUT'] ?? 0, 'the pause must show').toBeGreaterThan(0);
        const outcome = (k: string) => s.ledger.settlements(k)[0]!;
        const isShort = (k: string) => Number(k) % 2 === 0;
        // A timeout is a settlement on time, not a hang; only tasks whose timeout the pause outlived get one.
        expect(
          s.ledger.keys().filter((k) => !outcome(k).ok && outcome(k).latencyMs > short + 500),
        ).toEqual([]);
        expect(s.ledger.keys().filter((k) => !isShort(k) && !outcome(k).ok)).toEqual([]);
      }),
    SCENARIO_TIMEOUT_MS,
  );

  it(
    '9. slow subscriber: a blocked worker is cut off at its output-buffer limit, its tasks complete elsewhere',
    () =>
      scenario('9 slow subscriber', async (s) => {
        const admin = s.client();
        await admin.call('CONFIG', 'SET', 'client-output-buffer-limit', 'pubsub 64kb 32kb 1');
        // A TTL the pause cannot lapse: the buffer limit, not the heartbeat, is the fault.
        const [w1] = await s.threeWorkers({ heartbeatTtlMs: 4_000 });
        const d = await s.dispatcher({ ackTimeoutMs: 500 });
        await s.routable(d, 3);
        const name = 'ringcast-worker:w1';
        const before = await s.subscriberId(name);
        expect(before).toBeDefined();
        let blocked: Promise<void> | undefined;
        const channel = names(s.ns).workerChannel('w1');
        // Cancels for unknown attempts: valid frames the worker ignores, 64 kB each.
        const cancel = JSON.stringify({ kind: 'cancel', id: 'flood', token: 'flood' });
        const flood = `{"v":${PROTOCOL_VERSION},"m":[${Array(1500).fill(cancel).join(',')}]}`;
        const block = async () => {
          w1!.pause();
          const started = Date.now();
          for (let i = 0; i < 400 && (await s.subscriberId(name)) === before; i++) {
            await Promise.all(Array.from({ length: 8 }, () => admin.publish(channel, flood)));
          }
          // Keep it blocked past the ack timeout, so its unacknowledged tasks move on.
          await sleep(Math.max(0, 1_200 - (Date.now() - started)));
          w1!.resume();
        };
        await s.feed(d, TASKS, {
          payload: (i) => ({ ms: 5 + (i % 4) * 5, pad: 'x'.repeat(512) }),
          onTick: (n) => {
            if (!blocked && n >= TASKS / 4) blocked = block();
          },
        });
        await blocked;
        const after = await s.subscriberId(name);
        expect(after, 'Redis must have cut the slow subscriber off').not.toBe(before);
        await s.routable(d, 3);
        await settle(s);
        expect(d.stats().redelivered).toBeGreaterThan(0);
        const info = (await admin.call('INFO', 'stats')) as string;
        const cut = /client_output_buffer_limit_disconnections:(\d+)/.exec(info);
        if (cut) expect(Number(cut[1])).toBeGreaterThan(0);
      }),
    SCENARIO_TIMEOUT_MS,
  );

  it(
    '10. every worker saturated: QUEUE_FULL at once beyond the bound, memory bounded, the rest completes',
    () =>
      scenario('10 saturation', async (s) => {
        await Promise.all(
          ['w1', 'w2'].map((id) => s.worker(id, { ...CALM, concurrency: 4, maxQueue: 4 })),
        );
        const maxQueued = 100;
        const d = await s.dispatcher({ maxQueued });
        await s.routable(d, 2);
        let maxSeenQueued = 0;
        let maxSeenInflight = 0;
        const sample = setInterval(() => {
          const st = d.stats();
          maxSeenQueued = Math.max(maxSeenQueued, st.queued);
          maxSeenInflight = Math.max(maxSeenInflight, st.inflight);
        }, 5);
        try {
          await s.feed(d, TASKS, { rate: 4_000, payload: () => ({ ms: 20 }) });
          await s.ledger.drain(DISPATCHER_DEFAULTS.timeoutMs);
        } finally {
          clearInterval(sample);
        }
        const report = await settle(s, { allowed: ['QUEUE_FULL'], exactlyOnce: true });
        const full = s.ledger
          .keys()
          .filter((k) => s.ledger.settlements(k)[0]?.code === 'QUEUE_FULL');
        expect(full.length, 'saturation must show').toBeGreaterThan(0);
        expect(report.errorCodes['QUEUE_FULL']).toBe(full.length);
        // At once: rejected before the event loop turns, and never sent anywhere.
        expect(full.filter((k) => !s.ledger.settlements(k)[0]!.atOnce)).toEqual([]);
        expect(full.filter((k) => s.ledger.runs(k).length > 0)).toEqual([]);
        expect(maxSeenQueued).toBeLessThanOrEqual(maxQueued);
        // In flight: at most each worker's concurrency plus its queue (4 + 4, twice).
        expect(maxSeenInflight).toBeLessThanOrEqual(16);
      }),
    SCENARIO_TIMEOUT_MS,
  );

  it(
    '11. two dispatchers share 3 workers weighted 3:1:1: own results only, shares within 5%',
    () =>
      scenario('11 two dispatchers', async (s) => {
        await Promise.all(
          [
            ['w1', 3],
            ['w2', 1],
            ['w3', 1],
          ].map(([id, weight]) =>
            s.worker(id as string, { ...CALM, weight: weight as number, concurrency: 256 }),
          ),
        );
        const a = await s.dispatcher();
        const b = await s.dispatcher();
        await s.routable(a, 3);
        await s.routable(b, 3);
        const half = Math.ceil(TASKS / 2);
        await Promise.all([
          s.feed(a, half, { prefix: 'a-', via: 'a', rate: RATE_PER_SEC / 2, payload: () => ({}) }),
          s.feed(b, half, { prefix: 'b-', via: 'b', rate: RATE_PER_SEC / 2, payload: () => ({}) }),
        ]);
        await settle(s, { exactlyOnce: true });
        expect(a.stats().staleReplies).toBe(0);
        expect(b.stats().staleReplies).toBe(0);
        for (const via of ['a', 'b']) {
          const counts: Record<string, number> = { w1: 0, w2: 0, w3: 0 };
          const keys = s.ledger.keys(via);
          for (const k of keys) for (const r of s.ledger.runs(k)) counts[r.worker]!++;
          const shares = { w1: 3 / 5, w2: 1 / 5, w3: 1 / 5 };
          for (const [w, share] of Object.entries(shares)) {
            expect(
              Math.abs(counts[w]! / keys.length - share),
              `${via}: ${JSON.stringify(counts)}`,
            ).toBeLessThanOrEqual(0.05);
          }
        }
      }),
    SCENARIO_TIMEOUT_MS,
  );

  it(
    '12. bad input on worker and reply channels, interleaved with real traffic',
    () =>
      scenario('12 bad input', async (s) => {
        const protoBefore = Object.getOwnPropertyNames(Object.prototype).sort().join(',');
        await s.threeWorkers(CALM);
        const d = await s.dispatcher();
        await s.routable(d, 3);
        const n = names(s.ns);
        const raw = s.client();
        const huge = 'x'.repeat(20 * 1024 * 1024);
        const deadline = () => Date.now() + 60_000;
        const task = (fields: Record<string, unknown>) =>
          JSON.stringify({
            kind: 'task',
            id: `bad-${Math.random().toString(36).slice(2)}`,
            attempt: 1,
            token: `bad-${Math.random().toString(36).slice(2)}`,
            handler: 'record',
            deadline: deadline(),
            replyTo: d.id,
            ...fields,
          });
        const v = `"v":${PROTOCOL_VERSION}`;
        const frame = (...messages: string[]) => `{${v},"m":[${messages.join(',')}]}`;
        // What the dispatcher must count: frames and messages that fail validation,
        // and well-formed replies for attempts it never made.
        let invalidExpected = 0;
        let staleExpected = 0;
        const toReply = async (data: string, invalid: number, stale: number) => {
          await raw.publish(n.replyChannel(d.id), data);
          invalidExpected += invalid;
          staleExpected += stale;
        };
        const forged = (i: number) =>
          JSON.stringify({
            kind: 'result',
            id: `forged-${i}`,
            token: `forged-${i}.1`,
            worker: 'w1',
            ok: true,
            value: { k: `forged-${i}` },
          });
        const round = async (r: number) => {
          // Reply channel.
          await toReply('this is not json', 1, 0);
          await toReply(`{${v},"m":[{"kind":"result","id":"x"`, 1, 0);
          await toReply(frame(forged(0)).replace(v, `"v":${PROTOCOL_VERSION + 1}`), 1, 0);
          await toReply(`{${v},"m":{}}`, 1, 0);
          await toReply(`{${v},"m":[]}`, 1, 0);
          await toReply('null', 1, 0);
          await toReply('[1,2,3]', 1, 0);
          await toReply(
            frame('{"kind":"result","id":5,"token":[],"worker":{},"ok":"yes"}', '"a string"'),
            2,
            0,
          );
          await toReply(
            frame(
              '{"kind":"result","id":"p1","token":"p1.1","worker":"w1","ok":true,"value":{"__proto__":{"polluted":true}}}',
              '{"kind":"result","id":"p2","token":"p2.1","worker":"w1","ok":true,"value":{"constructor":{"prototype":{"polluted":true}}}}',
              '{"__proto__":{"polluted":true},"kind":"ack","id":"p3","token":"p3.1","worker":"w1"}',
            ),
            3,
            0,
          );
          await toReply(frame(task({})), 1, 0); // a task is no reply
          await toReply(frame(...Array.from({ length: 10 }, (_, i) => forged(r * 100 + i))), 0, 10);
          if (r === 0) await toReply(frame(forged(999)).replace('"w1"', `"${huge}"`), 1, 0);
          // Worker channels: garbage is dropped; a task that names its dispatcher but
          // cannot run is nacked back to it, where it counts as a stale reply.
          for (const id of ['w1', 'w2', 'w3']) {
            const ch = n.workerChannel(id);
            await raw.publish(ch, '\u0000\u00ff not json');
            await raw.publish(ch, `{${v},"m":[{"kind":"task"`);
            await raw.publish(ch, frame(task({})).replace(v, '"v":99'));
            await raw.publish(ch, frame('{"kind":"task","id":1,"attempt":"one"}'));
            await raw.publish(ch, frame('{"kind":"cancel","id":"nope","token":"nope"}'));
            const nacked = [
              task({ handler: 'nope' }),
              task({ handler: '../x' }),
              task({ handler: 'child_process' }),
              task({ handler: '__proto__' }),
              task({ handler: 'constructor' }),
              task({ handler: 'toString' }),
              task({ deadline: 1 }),
            ];
            await raw.publish(ch, frame(...nacked));
            staleExpected += nacked.length;
            const poisoned = [
              '{"kind":"task","id":"pp1","attempt":1,"token":"pp1.1","handler":"record","deadline":DL,"replyTo":"RT","payload":{"__proto__":{"polluted":true}}}',
              '{"kind":"task","id":"pp2","attempt":1,"token":"pp2.1","handler":"record","deadline":DL,"replyTo":"RT","payload":{"constructor":{"prototype":{"polluted":true}}}}',
            ].map((m) => m.replace('DL', String(deadline())).replace('RT', d.id));
            await raw.publish(ch, frame(...poisoned));
            staleExpected += poisoned.length; // nacked INVALID_MESSAGE
            if (r === 0) await raw.publish(ch, frame(task({ payload: huge })));
          }
        };
        let rounds = 0;
        let next: Promise<void> = Promise.resolve();
        await s.feed(d, TASKS, {
          onTick: (dispatched) => {
            if (rounds < 3 && dispatched >= ((rounds + 1) * TASKS) / 4) {
              const r = rounds++;
              next = next.then(() => round(r));
            }
          },
        });
        await next;
        expect(rounds).toBe(3);
        await s.ledger.drain(DISPATCHER_DEFAULTS.timeoutMs);
        await until(
          () =>
            d.stats().invalidMessages >= invalidExpected && d.stats().staleReplies >= staleExpected,
          10_000,
          'every bad message to be counted',
        ).catch(() => undefined);
        const stats = d.stats();
        // Workers must still run handlers in an unpolluted realm.
        const probes = await Promise.all(
          Array.from({ length: 9 }, () => d.dispatch('prototypes', null)),
        );
        s.ledger.noteExternal(probes.length);
        const report = await settle(s);
        expect(stats.invalidMessages).toBe(invalidExpected);
        expect(stats.staleReplies).toBe(staleExpected);
        expect(report.tasks).toBe(TASKS);
        const mine = probes[0] as { object: string };
        for (const p of probes) {
          expect(p).toEqual({ ...mine, polluted: false });
        }
        expect(Object.getOwnPropertyNames(Object.prototype).sort().join(',')).toBe(protoBefore);
        expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
        expect(mine.object).toBe(protoBefore);
      }),
    SCENARIO_TIMEOUT_MS,
  );
});
