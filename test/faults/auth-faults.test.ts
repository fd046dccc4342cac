// The fault suite's bad-input scenario (12 in faults.test.ts) with frame
// authentication on: CLI workers keyed by --auth-keys-file, a dispatcher with the
// same keys, and an attacker connection that publishes unsigned, forged (bad MAC),
// wrong-key, malformed, moved (wrong channel), stale and replayed frames on every
// channel — the workers', the reply channel, control, settled and cancel — while
// real traffic flows. Every bad frame is counted by its reason on the node that
// heard it (the workers' own /metrics), no forged task runs (the run logs), and
// the real tasks each run once and settle. `npm run faults` runs it too.
import type { Dispatcher } from '@ringcast/dispatcher';
import {
  type AuthOptions,
  encode,
  FRAME_DROP_REASONS,
  FrameSealer,
  names,
  PROTOCOL_VERSION,
  parseAuthOptions,
} from '@ringcast/protocol';
import type { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { KeysFile, keyring, SECRETS } from '../support/auth-keys.js';
import { privateRedisAvailable } from '../support/redis.js';
import type { WorkerProcess } from '../support/workers.js';
import { scenario, settleScenario } from './expectations.js';
import { CALM, SCENARIO_TIMEOUT_MS, type Scenario, TASKS, until } from './harness.js';
import { type LedgerReport, publishTable } from './ledger.js';

const reports: LedgerReport[] = [];
const AUTH: AuthOptions = keyring(['k1']);
const WORKERS = ['w1', 'w2', 'w3'];
/** What each attack round sends on each channel: one frame per reason. */
const ATTACKS = [
  'unsigned',
  'bad_mac',
  'unknown_key',
  'malformed',
  'wrong_channel',
  'stale',
  'replay',
] as const;
const ROUNDS = 3;

/** Frames dropped on a worker process, by reason, as its /metrics says. */
async function droppedOn(w: WorkerProcess): Promise<Record<string, number>> {
  const url = /metrics at (http:\/\/\S+\/metrics)/.exec(w.output())?.[1];
  if (url === undefined) throw new Error(`worker ${w.id} serves no metrics:\n${w.output()}`);
  const text = await (await fetch(url)).text();
  const dropped: Record<string, number> = {};
  for (const [, reason, count] of text.matchAll(
    /^ringcast_worker_frames_dropped_total\{reason="(\w+)"\} (\d+)$/gm,
  )) {
    dropped[reason!] = Number(count);
  }
  return dropped;
}

/** `attacked` for the reasons the rounds sent, 0 for every other reason. */
function expectedDrops(attacked: number): Record<string, number> {
  const counts = Object.fromEntries(FRAME_DROP_REASONS.map((r) => [r, 0]));
  for (const reason of ATTACKS) counts[reason] = attacked;
  return counts;
}

/**
 * The attacker: a connection that hears every channel (the frames it captures
 * are genuine), and one it publishes its frames with. It holds no key; the
 * test mints the stale frames with the real one, as if captured long ago.
 */
async function attacker(s: Scenario, d: Dispatcher) {
  const n = names(s.ns);
  const ear = s.client();
  const mouth = s.client();
  const captured = new Map<string, string>();
  ear.on('message', (channel: string, frame: string) => captured.set(channel, frame));
  const channels = [
    ...WORKERS.map((id) => n.workerChannel(id)),
    n.replyChannel(d.id),
    n.controlChannel,
    n.settledChannel,
    n.cancelChannel,
  ];
  await ear.subscribe(...channels);
  const genuine = new FrameSealer(parseAuthOptions(AUTH));
  const impostor = new FrameSealer(parseAuthOptions({ keys: { k1: SECRETS.k2 }, current: 'k1' }));
  const stranger = new FrameSealer(parseAuthOptions(keyring(['k2'])));
  const v = `"v":${PROTOCOL_VERSION}`;
  /** What would do harm on `channel` if it were taken: a task, a forged result, a leave, ids. */
  const harmful = (channel: string, tag: string): string => {
    if (channel === n.settledChannel || channel === n.cancelChannel) return `forged-${tag}`;
    if (channel === n.controlChannel) {
      return encode([{ kind: 'leave', id: 'w1', incarnation: `forged-${tag}` }]);
    }
    if (channel === n.replyChannel(d.id)) {
      return `{${v},"m":[{"kind":"result","id":"forged-${tag}","token":"forged-${tag}.1","worker":"w1","ok":true,"value":1}]}`;
    }
    return encode([
      {
        kind: 'task',
        id: `forged-${tag}`,
        attempt: 1,
        token: `forged-${tag}.1`,
        handler: 'record',
        payload: { k: `forged-${tag}` },
        deadline: Date.now() + 60_000,
        replyTo: d.id,
      },
    ]);
  };
  /** A genuine frame heard on `channel`, for a replay; minted once if nothing real passes there. */
  const capturedOn = async (channel: string, publish: Redis): Promise<string> => {
    let frame = captured.get(channel);
    if (frame === undefined) {
      frame = genuine.seal(channel, harmful(channel, 'minted'), Date.now());
      await publish.publish(channel, frame);
    }
    return frame;
  };
  return {
    channels,
    async round(r: number): Promise<void> {
      for (const [i, channel] of channels.entries()) {
        const tag = `${r}-${i}`;
        const body = harmful(channel, tag);
        const now = Date.now();
        const elsewhere = channels[(i + 1) % channels.length]!;
        const moved = await capturedOn(elsewhere, mouth);
        const replayed = await capturedOn(channel, mouth);
        const frames: Record<(typeof ATTACKS)[number], string> = {
          unsigned: body,
          bad_mac: impostor.seal(channel, body, now),
          unknown_key: stranger.seal(channel, body, now),
          malformed: genuine.seal(channel, body, now).slice(0, 30),
          wrong_channel: moved,
          stale: genuine.seal(channel, body, now - 120_000),
          replay: replayed,
        };
        for (const reason of ATTACKS) await mouth.publish(channel, frames[reason]);
      }
    },
  };
}

describe.skipIf(!privateRedisAvailable)('fault injection with frame authentication on', () => {
  afterAll(() =>
    publishTable(
      `ringcast fault-injection suite, frame authentication on (${TASKS} tasks)`,
      'auth-faults',
      reports,
    ),
  );

  it(
    '12a. forged, unsigned, wrong-key, moved, stale and replayed frames on every channel, interleaved with real traffic',
    () =>
      scenario('12a bad input, auth on', async (s) => {
        const keys = new KeysFile(AUTH);
        try {
          const workers = await Promise.all(
            WORKERS.map((id) =>
              s.worker(id, {
                ...CALM,
                args: ['--auth-keys-file', keys.path, '--metrics-port', '0'],
              }),
            ),
          );
          const d = await s.dispatcher({ auth: AUTH });
          await s.routable(d, 3);
          const attack = await attacker(s, d);
          let rounds = 0;
          let next: Promise<void> = Promise.resolve();
          await s.feed(d, TASKS, {
            onTick: (dispatched) => {
              if (rounds < ROUNDS && dispatched >= ((rounds + 1) * TASKS) / (ROUNDS + 1)) {
                const r = rounds++;
                next = next.then(() => attack.round(r));
              }
            },
          });
          await next;
          expect(rounds).toBe(ROUNDS);
          // Each node heard one frame per attack per round on each of its channels.
          const dispatcherChannels = attack.channels.length - WORKERS.length;
          const forDispatcher = expectedDrops(ROUNDS * dispatcherChannels);
          await until(
            () => d.stats().auth.dropped.replay >= ROUNDS * dispatcherChannels,
            10_000,
            'the dispatcher to count every bad frame',
          ).catch(() => undefined);
          expect(d.stats().auth.dropped).toEqual(forDispatcher);
          for (const w of workers) {
            await until(
              async () => (await droppedOn(w)).replay === ROUNDS,
              10_000,
              `${w.id} to count every bad frame`,
            ).catch(() => undefined);
            expect(await droppedOn(w), w.id).toEqual(expectedDrops(ROUNDS));
          }
          // Nothing forged reached a decoder, let alone settled anything.
          expect(d.stats()).toMatchObject({ invalidMessages: 0, staleReplies: 0 });
          expect(d.workers().every((w) => w.healthy)).toBe(true);
          const report = await settleScenario(s, reports, { exactlyOnce: true });
          // No run of a forged task is on record: every run belongs to a real one.
          expect(report.unexpected).toBe(0);
          expect(report.tasks).toBe(TASKS);
        } finally {
          keys.remove();
        }
      }),
    SCENARIO_TIMEOUT_MS,
  );
});
