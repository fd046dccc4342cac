// What became of durable tasks, read from Redis and held against the promise logs of the
// dispatcher processes that submitted them (test/support/dispatcher-process.ts): used by the
// durable fault scenarios (test/faults) and by `npm run demo -- --durable`.
import { names } from '@ringcast/protocol';
import type { Redis } from 'ioredis';
import type { PromiseLogLine } from './dispatcher-process.js';

/** A task record as stored (dispatcher `durable/record.ts`), the fields a ledger needs. */
export interface StoredTask {
  id: string;
  /** The payload's `k`: the key the submitter gave the task. */
  key: string | undefined;
  state: string;
  attempts: number;
  result: unknown;
  errorCode: string | undefined;
}

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);

function json(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Every task record of `namespace`, by task id. */
export async function readTaskRecords(
  client: Redis,
  namespace: string,
): Promise<Map<string, StoredTask>> {
  const prefix = names(namespace).taskKeyPrefix;
  const keys = new Set<string>();
  let cursor = '0';
  do {
    const [next, batch] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    for (const key of batch) keys.add(key);
  } while (cursor !== '0');
  const list = [...keys];
  const pipeline = client.pipeline();
  for (const key of list) pipeline.hgetall(key);
  const replies = (await pipeline.exec()) ?? [];
  const tasks = new Map<string, StoredTask>();
  list.forEach((key, i) => {
    const hash = (replies[i]?.[1] ?? {}) as Record<string, string>;
    if (hash['state'] === undefined) return; // expired between the scan and the read
    const id = key.slice(prefix.length);
    const payload = json(hash['payload']) as { k?: unknown } | undefined;
    const error = json(hash['error']) as { code?: unknown } | undefined;
    tasks.set(id, {
      id,
      key: typeof payload?.k === 'string' ? payload.k : undefined,
      state: hash['state'],
      attempts: Number(hash['attempts'] ?? 0),
      result: json(hash['result']),
      errorCode: typeof error?.code === 'string' ? error.code : undefined,
    });
  });
  return tasks;
}

/** How many terminal states are stored among `ids`. */
export async function countTerminal(
  client: Redis,
  namespace: string,
  ids: readonly string[],
): Promise<number> {
  const n = names(namespace);
  const pipeline = client.pipeline();
  for (const id of ids) pipeline.hget(n.taskKey(id), 'state');
  const replies = (await pipeline.exec()) ?? [];
  return replies.filter(([, state]) => TERMINAL.has(state as string)).length;
}

/**
 * Counts the ids published on the settled channel: each terminal write publishes its id
 * once, in the same script, so an id heard twice was settled twice. Subscribed on a
 * client of the caller's; ioredis subscribes again after a reconnect (what is published
 * in between is not heard: a restart of Redis leaves a short gap).
 */
export class SettledCounter {
  readonly counts = new Map<string, number>();
  readonly #client: Redis;

  private constructor(client: Redis) {
    this.#client = client;
  }

  static async start(client: Redis, namespace: string): Promise<SettledCounter> {
    const counter = new SettledCounter(client);
    const channel = names(namespace).settledChannel;
    // A message carries the ids one store call settled, space-separated.
    client.on('message', (from: string, ids: string) => {
      if (from !== channel) return;
      for (const id of ids.split(' ')) counter.counts.set(id, (counter.counts.get(id) ?? 0) + 1);
    });
    await client.subscribe(channel);
    return counter;
  }

  /** Ids heard more than once. */
  get twice(): string[] {
    return [...this.counts].filter(([, n]) => n > 1).map(([id]) => id);
  }

  close(): void {
    this.#client.disconnect();
  }
}

/** What became of the promised tasks, and of every other record found. */
export interface DurableTally {
  /** submit() calls that resolved, over every log. */
  promised: number;
  /** Promised tasks with a stored terminal state. */
  terminal: number;
  succeeded: number;
  /** Failed or cancelled, by error code. */
  failed: Record<string, number>;
  /** Promised ids with no terminal record. */
  lost: string[];
  /** How many lost ids are in which state (`none`: no record). */
  lostStates: Record<string, number>;
  /** Ids published on the settled channel more than once. */
  doubleSettled: string[];
  /** Promised tasks whose stored result is not their handler's output (or whose record names another key). */
  wrong: string[];
  /** submit() calls cut short by a kill: neither resolved nor rejected. */
  cut: number;
  /** Records of cut submits that made it into Redis anyway: explained, not unexpected. */
  cutStored: number;
  /**
   * Records of submits that rejected (a write applied whose reply was lost, say, then
   * sent again): a caller told "no" whose task runs all the same.
   */
  rejectedStored: string[];
  /** Records nobody promised nor tried to submit. */
  unexpected: string[];
  /** Promised keys by id, for run-log checks. */
  keys: Map<string, string>;
}

/**
 * Holds `records` against the promise `logs`. `correct(key, task)` says whether a
 * succeeded task's stored result is its handler's output for its payload.
 */
export function tallyDurable(
  logs: readonly (readonly PromiseLogLine[])[],
  records: ReadonlyMap<string, StoredTask>,
  settled: ReadonlyMap<string, number>,
  correct: (key: string, task: StoredTask) => boolean,
): DurableTally {
  const keys = new Map<string, string>();
  const tried = new Set<string>();
  const answered = new Set<string>();
  const rejected = new Set<string>();
  for (const log of logs) {
    for (const line of log) {
      if (line.kind === 's') tried.add(line.key);
      else answered.add(line.key);
      if (line.kind === 'r') rejected.add(line.key);
      if (line.kind === 'p') keys.set(line.id, line.key);
    }
  }
  const tally: DurableTally = {
    promised: keys.size,
    terminal: 0,
    succeeded: 0,
    failed: {},
    lost: [],
    lostStates: {},
    doubleSettled: [...settled].filter(([, n]) => n > 1).map(([id]) => id),
    wrong: [],
    cut: [...tried].filter((key) => !answered.has(key)).length,
    cutStored: 0,
    rejectedStored: [],
    unexpected: [],
    keys,
  };
  for (const [id, key] of keys) {
    const task = records.get(id);
    if (!task || !TERMINAL.has(task.state)) {
      tally.lost.push(id);
      const state = task?.state ?? 'none';
      tally.lostStates[state] = (tally.lostStates[state] ?? 0) + 1;
      continue;
    }
    tally.terminal++;
    if (task.key !== key) tally.wrong.push(id);
    else if (task.state === 'succeeded') {
      tally.succeeded++;
      if (!correct(key, task)) tally.wrong.push(id);
    } else {
      const code = task.errorCode ?? task.state;
      tally.failed[code] = (tally.failed[code] ?? 0) + 1;
    }
  }
  for (const [id, task] of records) {
    if (keys.has(id)) continue;
    if (task.key !== undefined && tried.has(task.key) && !answered.has(task.key)) tally.cutStored++;
    else if (task.key !== undefined && rejected.has(task.key)) tally.rejectedStored.push(id);
    else tally.unexpected.push(id);
  }
  return tally;
}
