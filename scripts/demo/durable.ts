// npm run demo -- --durable: durable tasks survive their dispatcher. One dispatcher process
// submits them and is killed with SIGKILL halfway; a second one starts, adopts what the
// first held, submits what it never got to, and finishes everything. The tally is read
// from Redis: every submitted task must have exactly one stored terminal state.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { names } from '@ringcast/protocol';
import { Redis } from 'ioredis';
import {
  type DispatcherProcess,
  readPromiseLog,
  spawnDispatcher,
} from '../../test/support/dispatcher-process.js';
import {
  countTerminal,
  type DurableTally,
  readTaskRecords,
  SettledCounter,
  type StoredTask,
  tallyDurable,
} from '../../test/support/durable-outcomes.js';
import type { Fleet, WorkerSpec } from './fleet.js';
import { createProgress } from './progress.js';

/** A dead dispatcher's tasks are adopted once its heartbeat (3 × this) lapses. */
const OWNER_HEARTBEAT_MS = 250;
/**
 * Submits per second, about what 2 cores finish: a steady producer, so the kill finds
 * tasks not yet submitted as well as tasks running and waiting.
 */
const SUBMIT_RATE = 2_000;
/** Long enough to read every record at the end; removed then when Redis is not ours. */
const RESULT_TTL_MS = 10 * 60_000;
const TASK_TIMEOUT_MS = 30_000;
const ADOPTION_TIMEOUT_MS = 15_000;

const number = new Intl.NumberFormat('en-US');

export interface DurableDemo {
  url: string;
  namespace: string;
  tasks: number;
  fleet: Fleet;
  specs: readonly WorkerSpec[];
  /** Merged into each task's payload beside `k` and `seq` (the `digest` handler's input). */
  payload: Record<string, unknown>;
  /** Remove every key of the namespace at the end (a Redis that is not the demo's own). */
  removeKeys: boolean;
  out: NodeJS.WriteStream;
  /** Registers a cleanup step; steps run last registered first. */
  onCleanup(step: (interrupted: boolean) => Promise<void>): void;
}

/** The `digest` handler's output names its task's `seq`: the key the task was submitted under. */
const correct = (key: string, task: StoredTask): boolean =>
  (task.result as { seq?: unknown } | undefined)?.seq === Number(key);

async function until(check: () => Promise<boolean>, timeoutMs: number, what: string) {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Runs the durable demo; resolves true when every submitted task finished exactly once with its own result. */
export async function runDurable(demo: DurableDemo): Promise<boolean> {
  const { url, namespace, tasks, out } = demo;
  const say = (line = '') => out.write(`${line}\n`);
  const n = names(namespace);
  const client = new Redis(url, { maxRetriesPerRequest: null });
  client.on('error', () => {});
  const dir = mkdtempSync(join(tmpdir(), 'ringcast-demo-'));
  const started: DispatcherProcess[] = [];
  demo.onCleanup(async () => {
    await Promise.all(started.map((p) => p.kill('SIGKILL')));
    if (demo.removeKeys) {
      let cursor = '0';
      do {
        const [next, keys] = await client.scan(cursor, 'MATCH', `${namespace}:*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) await client.del(...keys);
      } while (cursor !== '0');
    }
    client.disconnect();
    rmSync(dir, { recursive: true, force: true });
  });
  const settled = await SettledCounter.start(client.duplicate(), namespace);
  demo.onCleanup(async () => settled.close());

  await Promise.all(demo.specs.map((spec) => demo.fleet.start(spec)));
  const common = {
    url,
    namespace,
    handler: 'digest',
    payload: demo.payload,
    workers: demo.specs.length,
    options: { ownerHeartbeatMs: OWNER_HEARTBEAT_MS, timeoutMs: TASK_TIMEOUT_MS },
    submitOptions: { resultTtlMs: RESULT_TTL_MS },
  };
  const first = await spawnDispatcher({
    ...common,
    log: join(dir, 'dispatcher-1.promises'),
    tasks,
    rate: SUBMIT_RATE,
  });
  started.push(first);
  say(
    `dispatcher-1 (pid ${first.pid}) submits ${number.format(tasks)} durable tasks; ` +
      'each one is stored in Redis before submit() resolves',
  );

  const done = () => settled.counts.size;
  const progress = createProgress(out, () => ({
    done: Math.min(done(), tasks),
    total: tasks,
    inflight: Math.max(0, started.reduce((sum, p) => sum + p.promisedCount(), 0) - done()),
  }));
  const t0 = performance.now();
  progress.start();
  try {
    await until(async () => done() >= Math.ceil(tasks / 2), TASK_TIMEOUT_MS, 'half the tasks');
    await first.kill('SIGKILL');
    const firstLog = readPromiseLog(first.log);
    const tried = firstLog.filter((line) => line.kind === 's').length;
    const promised = firstLog.filter((line) => line.kind === 'p').length;
    const active = await client.scard(n.activeKey(first.id));
    const waiting = await client.zcard(n.backlogKey);
    progress.log(
      `  ✖ dispatcher-1 killed with SIGKILL at ${number.format(done())}/${number.format(tasks)} finished: ` +
        `${number.format(promised)} submitted, ${number.format(active)} of them running under it, ` +
        `${number.format(waiting)} waiting in Redis`,
    );

    const restartedAt = performance.now();
    const second = await spawnDispatcher({
      ...common,
      log: join(dir, 'dispatcher-2.promises'),
      tasks: tasks - tried,
      from: tried,
      rate: SUBMIT_RATE,
    });
    started.push(second);
    await until(
      async () =>
        (await client.hexists(n.dispatchersKey, first.id)) === 0 &&
        (await client.scard(n.activeKey(first.id))) === 0,
      ADOPTION_TIMEOUT_MS,
      "dispatcher-2 to adopt dispatcher-1's tasks",
    );
    const adoptedMs = performance.now() - restartedAt;
    const took = active === 0 ? 'found none of them left to adopt' : 'adopted them';
    progress.log(
      `  ↻ dispatcher-2 (pid ${second.pid}) ${took} ${(adoptedMs / 1000).toFixed(1)} s after it started ` +
        `(owner heartbeat TTL ${(OWNER_HEARTBEAT_MS * 3) / 1000} s)` +
        (tasks > tried ? `; it submits the ${number.format(tasks - tried)} not submitted yet` : ''),
    );

    const ids = () => [
      ...[first, second].flatMap((p) =>
        readPromiseLog(p.log).flatMap((line) => (line.kind === 'p' ? [line.id] : [])),
      ),
    ];
    await second.submitted;
    await until(
      async () => {
        const all = ids();
        return (await countTerminal(client, namespace, all)) === all.length;
      },
      TASK_TIMEOUT_MS,
      'every submitted task to finish',
    );
    const elapsed = performance.now() - t0;
    progress.stop();
    const adopted = (await second.stop())?.durable;
    const records = await readTaskRecords(client, namespace);
    const logs = [first, second].map((p) => readPromiseLog(p.log));
    const all = tallyDurable(logs, records, settled.counts, correct);
    say();
    for (const line of report(logs, records, settled.counts, all, elapsed)) say(line);
    if (adopted) {
      say(
        `  dispatcher-2 adopted ${number.format(adopted.adopted)} active task(s): ` +
          `${number.format(adopted.parkedSettled)} settled from results their workers had parked, ` +
          'the rest sent again with their next attempt',
      );
    }
    say();
    const ok =
      all.lost.length === 0 &&
      all.doubleSettled.length === 0 &&
      all.wrong.length === 0 &&
      all.unexpected.length === 0 &&
      all.succeeded === all.promised;
    say(
      ok
        ? 'Every submitted task reached exactly one terminal state, with its own result.'
        : `FAILED: ${all.lost.length} lost, ${all.doubleSettled.length} settled twice, ` +
            `${all.wrong.length} wrong, ${all.promised - all.succeeded - all.lost.length} failed, ` +
            `${all.unexpected.length} unexpected.`,
    );
    return ok;
  } finally {
    progress.stop();
  }
}

/** The tally's lines: a row per dispatcher, the total, and how the kill went. */
function report(
  logs: ReturnType<typeof readPromiseLog>[],
  records: ReadonlyMap<string, StoredTask>,
  settled: ReadonlyMap<string, number>,
  all: DurableTally,
  elapsedMs: number,
): string[] {
  const row = (name: string, t: DurableTally) => {
    const failed = Object.values(t.failed).reduce((a, b) => a + b, 0);
    const twice = t.doubleSettled.filter((id) => t.keys.has(id)).length;
    return [name, t.promised, t.succeeded, failed, t.lost.length, twice, t.wrong.length].map(
      (cell) => (typeof cell === 'number' ? number.format(cell) : cell),
    );
  };
  const rows = [
    ['submitted by', 'tasks', 'succeeded', 'failed', 'lost', 'settled twice', 'wrong'],
    row('dispatcher-1 (killed)', tallyDurable([logs[0]!], records, settled, correct)),
    row('dispatcher-2 (fresh)', tallyDurable([logs[1]!], records, settled, correct)),
    row('total', all),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    `  ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('   ')}`;
  const lines = [line(rows[0]!), `  ${'─'.repeat(widths.reduce((a, b) => a + b + 3, -3))}`];
  for (const r of rows.slice(1)) lines.push(line(r));
  lines.push('');
  const rate = all.terminal / (elapsedMs / 1000);
  lines.push(
    `  ${number.format(all.terminal)} tasks in ${(elapsedMs / 1000).toFixed(1)} s: ${number.format(Math.round(rate))} tasks/s`,
  );
  if (all.cut > 0) {
    lines.push(
      `  ${all.cut} submit() call(s) were cut short by the kill (never answered): ` +
        `${all.cutStored} of them had been stored all the same`,
    );
  }
  lines.push(
    `  lost ${number.format(all.lost.length)}   settled twice ${number.format(all.doubleSettled.length)}   ` +
      `wrong ${number.format(all.wrong.length)}   unexpected ${number.format(all.unexpected.length)}`,
  );
  return lines;
}
