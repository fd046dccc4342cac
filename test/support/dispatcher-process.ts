import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { DispatcherOptions, DispatcherStats, SubmitOptions } from '@ringcast/dispatcher';
import { type NodeProcess, spawnNode } from './node-process.js';

export const DURABLE_DISPATCHER = fileURLToPath(
  new URL('../fixtures/durable-dispatcher.js', import.meta.url),
);

export interface SpawnDispatcherOptions {
  url: string;
  namespace: string;
  /** The promise log (see test/fixtures/durable-dispatcher.js); appended to. */
  log: string;
  /** Tasks to submit; 0: only run and drain the backlog. @defaultValue 0 */
  tasks?: number;
  /** Task keys are `<prefix><from + i>`. */
  prefix?: string;
  from?: number;
  /** Submits per second; 0: as fast as `window` allows. @defaultValue 0 */
  rate?: number;
  /** Most submits in flight. @defaultValue 1000 */
  window?: number;
  /** @defaultValue 'record' */
  handler?: string;
  /** Merged into every payload, beside `k` (the task key) and `seq`. */
  payload?: Record<string, unknown>;
  /** Healthy workers to wait for before `ready`. @defaultValue 0 */
  workers?: number;
  /** Options of the dispatcher, less what cannot cross a process boundary. */
  options?: Omit<DispatcherOptions, 'redis' | 'namespace' | 'logger' | 'taskMap'>;
  submitOptions?: SubmitOptions;
}

/** One line of a promise log. */
export type PromiseLogLine =
  | { kind: 's'; key: string }
  | { kind: 'p'; key: string; id: string }
  | { kind: 'r'; key: string; code: string; message: string };

export interface DispatcherProcess extends NodeProcess {
  /** The dispatcher's own id, as it registers in Redis. */
  readonly id: string;
  readonly log: string;
  /** Resolves once every submit it was asked for settled. */
  readonly submitted: Promise<void>;
  /** How many submits resolved so far (the log's `p` lines). */
  promisedCount(): number;
  /** SIGTERM: the dispatcher prints its stats and closes; resolves with the stats. */
  stop(): Promise<DispatcherStats | undefined>;
}

/** Reads a promise log; a torn last line (the process died writing it) is skipped. */
export function readPromiseLog(file: string): PromiseLogLine[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const lines: PromiseLogLine[] = [];
  for (const line of text.split('\n')) {
    const [kind, key, third, fourth] = line.split('\t');
    if (key === undefined) continue;
    if (kind === 's') lines.push({ kind, key });
    else if (kind === 'p' && third) lines.push({ kind, key, id: third });
    else if (kind === 'r' && third) lines.push({ kind, key, code: third, message: fourth ?? '' });
  }
  return lines;
}

function countPromised(file: string): number {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return 0;
  }
  let n = 0;
  for (const line of text.split('\n')) if (line.startsWith('p\t')) n++;
  return n;
}

/** Starts a dispatcher process (test/fixtures/durable-dispatcher.js) and resolves once it is ready. */
export async function spawnDispatcher(options: SpawnDispatcherOptions): Promise<DispatcherProcess> {
  const args = [
    DURABLE_DISPATCHER,
    '--redis',
    options.url,
    '--namespace',
    options.namespace,
    '--log',
    options.log,
    '--tasks',
    String(options.tasks ?? 0),
    '--from',
    String(options.from ?? 0),
    '--prefix',
    options.prefix ?? '',
    '--rate',
    String(options.rate ?? 0),
    '--window',
    String(options.window ?? 1000),
    '--handler',
    options.handler ?? 'record',
    '--payload',
    JSON.stringify(options.payload ?? {}),
    '--workers',
    String(options.workers ?? 0),
    '--options',
    JSON.stringify(options.options ?? {}),
    '--submit-options',
    JSON.stringify(options.submitOptions ?? {}),
  ];
  let ready!: (id: string) => void;
  const readyId = new Promise<string>((resolve) => {
    ready = resolve;
  });
  let submitted!: () => void;
  const allSubmitted = new Promise<void>((resolve) => {
    submitted = resolve;
  });
  let stats: DispatcherStats | undefined;
  const node = spawnNode(args, {
    onLine: (line) => {
      if (line.startsWith('ready ')) ready(line.slice(6));
      else if (line.startsWith('submitted ')) submitted();
      else if (line.startsWith('stats ')) stats = JSON.parse(line.slice(6)) as DispatcherStats;
    },
  });
  const id = await Promise.race([
    readyId,
    node.exited.then(() => {
      throw new Error(`dispatcher process exited before it was ready; output:\n${node.output()}`);
    }),
  ]);
  const handle: DispatcherProcess = {
    ...node,
    id,
    log: options.log,
    submitted: allSubmitted,
    promisedCount: () => countPromised(options.log),
    async stop() {
      await node.kill('SIGTERM');
      return stats;
    },
  };
  return handle;
}
