import { ErrorCode, FrameSealer, names, parseAuthOptions } from '@ringcast/protocol';
import { describe, expect, it } from 'vitest';
import { quarantine } from './quarantine.js';
import { decodeRecord, MalformedRecords } from './record-decode.js';
import { recordKeys } from './record-seal.js';
import { addRequest, settleRequest } from './requests.js';
import type { Outcome } from './store.js';

const n = names('unit-seal');
const K1 = 'record-seal-test-secret-number-one-0001';
const K2 = 'record-seal-test-secret-number-two-0002';
const SECRET = 'a distinctive plaintext 8c1f';

function keysOf(keys: Record<string, string>, current: string, encrypt = true) {
  return recordKeys(new FrameSealer(parseAuthOptions({ keys, current, encrypt })));
}

const task = {
  id: 't1',
  handler: 'h',
  payload: { secret: SECRET },
  priority: 0,
  timeoutMs: 1_000,
  retries: 0,
  resultTtlMs: 60_000,
};

/** Task t1's record, stored with `keys`, then finished with `outcome` (sealed with `keys` too). */
function finished(keys: ReturnType<typeof keysOf>, outcome: Outcome): Record<string, string> {
  const fields = { ...addRequest(n, task, { now: 1_000, claimBy: 'd1' }, keys).fields };
  const settle = settleRequest(n, 't1', 'd1', outcome, 2_000, keys);
  fields['state'] = settle.state;
  fields['finishedAt'] = '2000';
  delete fields['owner'];
  if (settle.field !== undefined) fields[settle.field] = settle.value;
  return fields;
}

describe('sealed task records', () => {
  it('seals payload and result with auth.encrypt, and reads them back', () => {
    const keys = keysOf({ k1: K1 }, 'k1');
    const hash = finished(keys, { state: 'succeeded', result: { echo: SECRET } });
    expect(hash['payload']?.startsWith('~ek1 ')).toBe(true);
    expect(hash['result']?.startsWith('~ek1 ')).toBe(true);
    expect(JSON.stringify(hash)).not.toContain('8c1f');
    const record = decodeRecord(hash, new MalformedRecords(), 't1', keys);
    expect(record?.payload).toEqual({ secret: SECRET });
    expect(record?.result).toEqual({ echo: SECRET });
    expect(record?.state).toBe('succeeded');
  });

  it("seals a failure's error, whose messages can carry users' data", () => {
    const keys = keysOf({ k1: K1 }, 'k1');
    const error = {
      code: ErrorCode.HANDLER_ERROR,
      message: `no account ${SECRET}`,
      remote: { name: 'Error', message: `no account ${SECRET}`, retryable: false },
    };
    const hash = finished(keys, { state: 'failed', error });
    expect(hash['error']?.startsWith('~ek1 ')).toBe(true);
    expect(JSON.stringify(hash)).not.toContain('8c1f');
    expect(decodeRecord(hash, new MalformedRecords(), 't1', keys)?.error).toEqual(error);
  });

  it('writes in the clear with auth on but encrypt off, and reads records written before', () => {
    const signOnly = keysOf({ k1: K1 }, 'k1', false);
    const hash = finished(signOnly, { state: 'succeeded', result: 7 });
    expect(hash['payload']).toBe(JSON.stringify({ secret: SECRET }));
    expect(hash['result']).toBe('7');
    const record = decodeRecord(hash, new MalformedRecords(), 't1', keysOf({ k1: K1 }, 'k1'));
    expect(record?.payload).toEqual({ secret: SECRET });
    expect(record?.result).toBe(7);
  });

  it('reads a record sealed with k1 after a rotation to k2 while k1 stays in the keyring', () => {
    const hash = finished(keysOf({ k1: K1 }, 'k1'), { state: 'succeeded', result: 'ok' });
    const rotated = keysOf({ k1: K1, k2: K2 }, 'k2');
    expect(decodeRecord(hash, new MalformedRecords(), 't1', rotated)?.result).toBe('ok');
  });

  it('does not read a sealed field moved to another task or another field', () => {
    const keys = keysOf({ k1: K1 }, 'k1');
    const active = addRequest(n, task, { now: 1_000, claimBy: 'd1' }, keys).fields;
    // A record copied whole under another id (a packed record's id is the one it is read by).
    const malformed = new MalformedRecords();
    expect(decodeRecord(active, malformed, 't2', keys)).toBeUndefined();
    expect(malformed.snapshot()).toEqual({ payload: 1 });
    expect(malformed.lastProblem).toContain('tampered with, moved from another task or field');
    const hash = finished(keys, { state: 'succeeded', result: 'ok' });
    const swapped = { ...hash, result: hash['payload'] as string };
    const read = decodeRecord(swapped, new MalformedRecords(), 't1', keys);
    expect(read?.state).toBe('failed');
    expect(read?.error?.code).toBe(ErrorCode.INVALID_MESSAGE);
  });

  it('reads a finished task whose outcome it cannot open as failed, saying which key it lacks', () => {
    const hash = finished(keysOf({ k1: K1 }, 'k1'), { state: 'succeeded', result: 'ok' });
    const retired = keysOf({ k2: K2 }, 'k2');
    const record = decodeRecord(hash, new MalformedRecords(), 't1', retired);
    expect(record?.state).toBe('failed');
    expect(record).not.toHaveProperty('result');
    // Its payload is no longer needed: left out, rather than the record unreadable.
    expect(record).not.toHaveProperty('payload');
    expect(record?.error?.code).toBe(ErrorCode.INVALID_MESSAGE);
    expect(record?.error?.message).toMatch(
      /field "result" cannot be opened: .*key k1, which is not in this keyring/,
    );
  });

  it('fails a claimed task whose payload it cannot open, with why, rather than run it', async () => {
    const fields = addRequest(
      n,
      task,
      { now: 1_000, claimBy: 'd1' },
      keysOf({ k1: K1 }, 'k1'),
    ).fields;
    const settled: Array<[string, Outcome]> = [];
    const host = {
      malformed: new MalformedRecords(),
      keys: keysOf({ k2: K2 }, 'k2'),
      settle: async (id: string, _owner: string | undefined, outcome: Outcome) => {
        settled.push([id, outcome]);
        return { kind: 'settled' as const };
      },
    };
    expect(await quarantine([{ id: 't1', hash: fields }], 'd1', 3_000, host)).toEqual([]);
    expect(settled).toHaveLength(1);
    const [id, outcome] = settled[0]!;
    expect(id).toBe('t1');
    expect(outcome.state).toBe('failed');
    const error = (outcome as { error: { code: string; message: string } }).error;
    expect(error.code).toBe(ErrorCode.INVALID_MESSAGE);
    expect(error.message).toMatch(
      /^the stored task record could not be read: its field "payload" cannot be opened: it is encrypted with key k1/,
    );
    expect(host.malformed.snapshot()).toEqual({ payload: 1 });
  });
});
