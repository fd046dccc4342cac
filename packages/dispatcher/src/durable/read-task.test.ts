import { ErrorCode, FrameSealer, names, parseAuthOptions } from '@ringcast/protocol';
import { describe, expect, it } from 'vitest';
import { readTask } from './read-task.js';
import { type DurableRecord, encodeRecord } from './record.js';
import { recordKeys, sealField } from './record-seal.js';

const NS = 'unit';

/** A Redis with one hash per key, as much of one as readTask uses. */
function redisWith(hashes: Record<string, Record<string, string>>) {
  return { hgetall: async (key: string) => hashes[key] ?? {} };
}

const record: DurableRecord = {
  id: 't1',
  handler: 'resize',
  payload: { w: 320 },
  state: 'failed',
  priority: 2,
  attempts: 3,
  worker: 'w1',
  createdAt: 1_000,
  startedAt: 1_010,
  finishedAt: 1_050,
  timeoutMs: 30_000,
  retries: 2,
  resultTtlMs: 60_000,
  error: {
    code: ErrorCode.HANDLER_ERROR,
    message: 'boom',
    remote: { name: 'TypeError', message: 'boom', retryable: false },
  },
  cancelRequested: false,
};

describe('readTask', () => {
  it('reads a stored record as task(id) shows it', async () => {
    const redis = redisWith({ [names(NS).taskKey('t1')]: encodeRecord(record) });
    expect(await readTask(redis, { namespace: NS }, 't1')).toEqual({
      id: 't1',
      handler: 'resize',
      state: 'failed',
      attempts: 3,
      worker: 'w1',
      priority: 2,
      createdAt: 1_000,
      startedAt: 1_010,
      finishedAt: 1_050,
      result: undefined,
      error: record.error,
    });
  });

  it('is undefined for a task with no record, in the namespace asked for', async () => {
    const redis = redisWith({ [names('other').taskKey('t1')]: encodeRecord(record) });
    expect(await readTask(redis, { namespace: NS }, 't1')).toBeUndefined();
    expect(await readTask(redis, {}, 't1')).toBeUndefined();
  });

  it('names the field of a record that does not read', async () => {
    const broken = { ...encodeRecord(record), attempts: 'many' };
    const redis = redisWith({ [names(NS).taskKey('t1')]: broken });
    await expect(readTask(redis, { namespace: NS }, 't1')).rejects.toMatchObject({
      code: ErrorCode.INVALID_MESSAGE,
      message: expect.stringContaining('"attempts"'),
    });
  });

  it('refuses an invalid id or namespace before reading', async () => {
    const redis = redisWith({});
    for (const [namespace, id] of [
      [NS, 'bad id'],
      ['bad ns', 't1'],
    ] as const) {
      await expect(readTask(redis, { namespace }, id)).rejects.toMatchObject({
        code: ErrorCode.INVALID_OPTIONS,
      });
    }
  });

  it('refuses what is not a client, or options that are not an object, INVALID_OPTIONS', async () => {
    const calls = [
      () => readTask(undefined as never, { namespace: NS }, 't1'),
      () => readTask('redis://127.0.0.1:6379' as never, { namespace: NS }, 't1'),
      () => readTask(redisWith({}), undefined as never, 't1'),
      () => readTask(redisWith({}), [] as never, 't1'),
    ];
    for (const call of calls) {
      await expect(call()).rejects.toMatchObject({ code: ErrorCode.INVALID_OPTIONS });
    }
  });

  describe('a record sealed with auth.encrypt', () => {
    const auth = { keys: { k1: 'read-task-test-secret-number-one-00001' }, current: 'k1' };
    const keys = recordKeys(new FrameSealer(parseAuthOptions({ ...auth, encrypt: true })));
    const fields = encodeRecord(record);
    for (const field of ['payload', 'error'] as const) {
      fields[field] = sealField(keys, 't1', field, fields[field] as string);
    }
    const redis = redisWith({ [names(NS).taskKey('t1')]: fields });

    it('shows the sealed fields as encrypted without the keys, and the rest as stored', async () => {
      const info = await readTask(redis, { namespace: NS }, 't1');
      expect(info).toMatchObject({ id: 't1', state: 'failed', attempts: 3, error: undefined });
      expect(info).not.toHaveProperty('payload');
      expect(info?.encrypted).toEqual({
        payload: expect.stringContaining('encrypted with key k1'),
        error: expect.stringContaining('encrypted with key k1, which is not in this keyring'),
      });
    });

    it('opens them with the keys', async () => {
      const info = await readTask(redis, { namespace: NS, auth }, 't1');
      expect(info?.error).toEqual(record.error);
      expect(info).not.toHaveProperty('encrypted');
    });
  });
});
