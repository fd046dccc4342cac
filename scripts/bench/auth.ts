// The auth scenario: the throughput shape of docs/benchmarks.md three times in one run —
// frame authentication off, on (every frame signed and checked, HMAC-SHA256), and on with
// encryption (AES-256-GCM besides) — each on workers of its own started with
// --auth-keys-file, interleaved per repeat so the machine's drift hits all three alike.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuthOptions } from '@ringcast/protocol';
import { type Child, cpuMeter, onCleanup } from './harness.js';
import { closedLoop, type Send, type Summary, summarize } from './loop.js';
import { closeDispatcher, readyDispatcher, startWorkers } from './ringcast.js';

export const AUTH_VARIANTS = ['off', 'signed', 'encrypted'] as const;
export type AuthVariant = (typeof AUTH_VARIANTS)[number];

export interface AuthOptionsOfRun {
  url: string;
  namespace: string;
  w: number;
  n: number;
  warmup: number;
  repeat: number;
  concurrency: number;
  maxQueue: number | undefined;
  nodeArgs: string[];
  redisPids: number[];
  payload: (i: number) => unknown;
  check: (i: number, value: unknown) => boolean;
  progress: (line: string) => void;
}

/** Every run of each variant, in repeat order. */
export type AuthRuns = Record<AuthVariant, Summary[]>;

/** A fresh keyring for the run: one 32-byte random key, as `openssl rand -base64 32` makes. */
function keyring(encrypt: boolean): AuthOptions {
  return { keys: { bench: randomBytes(32).toString('base64') }, current: 'bench', encrypt };
}

export async function runAuth(o: AuthOptionsOfRun): Promise<AuthRuns> {
  const dir = mkdtempSync(join(tmpdir(), 'ringcast-bench-keys-'));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  const shared = keyring(false);
  const setups = AUTH_VARIANTS.map((variant) => {
    const auth =
      variant === 'off'
        ? undefined
        : { ...shared, ...(variant === 'encrypted' ? { encrypt: true } : {}) };
    const cliArgs: string[] = [];
    if (auth) {
      const file = join(dir, `${variant}.json`);
      writeFileSync(file, JSON.stringify(auth), { mode: 0o600 });
      cliArgs.push('--auth-keys-file', file);
    }
    const namespace = `${o.namespace}-${variant}`;
    const ids = ['echo-1', 'echo-2'];
    const specs = ids.map((id) => ({ id, concurrency: o.concurrency, maxQueue: o.maxQueue }));
    const children = startWorkers(o.url, namespace, specs, o.nodeArgs, cliArgs);
    return { variant, auth, namespace, ids, children };
  });
  const runs: AuthRuns = { off: [], signed: [], encrypted: [] };
  try {
    for (let rep = 0; rep < o.repeat; rep++) {
      for (const setup of setups) {
        const { variant, auth, namespace, ids, children } = setup;
        const dispatcher = await readyDispatcher(o.url, namespace, ids, children, {
          ...(auth ? { auth } : {}),
        });
        const label = `ringcast throughput auth ${variant} W=${o.w}`;
        const abort = children.map((c) => c.died);
        const send: Send = (i) => dispatcher.dispatch('echo', o.payload(i));
        try {
          await closedLoop({ n: o.warmup, w: o.w, send, label, abort });
          const cpu = cpuMeter({
            bench: [process.pid],
            workers: pidsOf(children),
            redis: o.redisPids,
          });
          const result = await closedLoop({ n: o.n, w: o.w, send, check: o.check, label, abort });
          if (result.firstError) o.progress(`${label}: ${result.firstError}`);
          runs[variant].push({ ...summarize(result), cpuUsPerTask: cpu(o.n) });
          const { dropped } = dispatcher.stats().auth;
          const drops = Object.values(dropped).reduce((a, b) => a + b, 0);
          o.progress(
            `${label}: ${Math.round(result.tasksPerSec)} tasks/s, ${drops} frames dropped`,
          );
        } finally {
          await closeDispatcher(dispatcher);
        }
      }
    }
  } finally {
    await Promise.all(setups.flatMap((s) => s.children.map((c) => c.stop())));
  }
  return runs;
}

function pidsOf(children: Child[]): number[] {
  return children.map((c) => c.process.pid ?? -1);
}
