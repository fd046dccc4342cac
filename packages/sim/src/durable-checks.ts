/**
 * How a durable run's checker hears and reads its tasks: every announcement on
 * the settled channel, and sweeps of the task records (durable-records.ts).
 */
import { type RecordKeys, recordKeys } from '@ringcast/dispatcher/internal';
import {
  FrameGuard,
  FrameSealer,
  type MemoryConnection,
  names,
  parseAuthOptions,
} from '@ringcast/protocol';
import { type AuthPlan, keyringAt } from './auth-plan.js';
import type { Checker } from './checker.js';
import { NAMESPACE } from './deployment-settings.js';
import { allRecords, readRecord } from './durable-records.js';
import type { World } from './world.js';

/** A connection of the checker's on the settled channel: every announcement counts. */
export async function listenSettled(
  world: World,
  checker: Checker,
  auth: AuthPlan | undefined,
): Promise<MemoryConnection> {
  const connection = world.redis.connect('checker');
  // Sealed with auth: opened as a dispatcher would (a frame delivered twice is one
  // announcement), with every key a rotation uses.
  const keyring = auth && parseAuthOptions(keyringAt(auth, 1));
  const guard = new FrameGuard({
    keyring,
    clock: world.clock,
    maxBytes: 1 << 20,
    log: (_kind, line) => world.log(`checker: ${line}`),
  });
  // A message carries the ids one store call settled, space-separated.
  connection.onMessage((channel, frame) => {
    const ids = guard.open(channel, frame);
    if (ids === undefined) return;
    for (const taskId of ids.split(' ')) checker.published(taskId, world.clock.now());
  });
  // Heard again after a Redis restart cuts it: restored with the processes' connections.
  world.observers.push(connection);
  const channel = names(NAMESPACE).settledChannel;
  // Subscribed again whenever it comes back from a cut (ioredis does the same).
  connection.on('ready', () => void connection.subscribe([channel]).catch(() => undefined));
  const subscribed = connection.subscribe([channel]);
  await world.clock.runUntil(world.clock.now() + 1_000, () => connection.channels.length > 0);
  await subscribed;
  return connection;
}

/** What the checker opens sealed records with: every key a rotation uses, as listenSettled. */
export function checkerKeys(auth: AuthPlan | undefined): RecordKeys {
  return recordKeys(auth && new FrameSealer(parseAuthOptions(keyringAt(auth, 1))));
}

/**
 * Reads the durable records into the checker: the known tasks', and with `all`
 * (or once they are all terminal) every record, so that a task stored by a
 * submit that rejected or never answered is found too. True when nothing is
 * pending any more.
 */
export function sweepRecords(
  world: World,
  checker: Checker,
  all: boolean,
  keys: RecordKeys,
): boolean {
  const now = world.clock.now();
  for (const { call, taskId } of checker.awaitingRecords()) {
    const record = readRecord(world.redis, taskId, keys);
    if (record) checker.stored(call, taskId, record.state, record.outcome, now);
  }
  if (!all && checker.pending > 0) return false;
  for (const record of allRecords(world.redis, keys)) {
    if (record.call === undefined) {
      world.errors.push(`task ${record.taskId}'s record names no call`);
      continue;
    }
    checker.stored(record.call, record.taskId, record.state, record.outcome, now);
  }
  return checker.pending === 0;
}
