import { EventEmitter } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import { closeConnection, isRedisClient, whenReady } from './connection.js';

function fake(status: string | undefined) {
  const emitter = new EventEmitter();
  return Object.assign(emitter, {
    status,
    connect: vi.fn(async () => {}),
    quit: vi.fn(async () => 'OK'),
    disconnect: vi.fn(),
  });
}

describe('isRedisClient', () => {
  it('tells clients from options and URLs', () => {
    expect(isRedisClient({ duplicate() {}, publish() {} })).toBe(true);
    expect(isRedisClient({ host: 'h', port: 1 })).toBe(false);
    expect(isRedisClient('redis://h')).toBe(false);
    expect(isRedisClient(null)).toBe(false);
  });
});

describe('whenReady', () => {
  it('takes a client without a status as ready', async () => {
    const client = fake(undefined);
    await whenReady(client);
    expect(client.connect).not.toHaveBeenCalled();
  });

  it('connects a lazy client', async () => {
    const client = fake('wait');
    await whenReady(client);
    expect(client.connect).toHaveBeenCalledOnce();
  });

  it('waits for a connecting client, and rejects if it ends first', async () => {
    const connecting = fake('connecting');
    const ready = whenReady(connecting);
    connecting.emit('ready');
    await expect(ready).resolves.toBeUndefined();
    const doomed = fake('connecting');
    const failed = whenReady(doomed);
    doomed.emit('end');
    await expect(failed).rejects.toThrow('ended before it was ready');
  });
});

describe('closeConnection', () => {
  it('quits a ready client and only disconnects one that is not ready', async () => {
    const ready = fake('ready');
    await closeConnection(ready);
    expect(ready.quit).toHaveBeenCalledOnce();
    const reconnecting = fake('reconnecting');
    await closeConnection(reconnecting);
    expect(reconnecting.quit).not.toHaveBeenCalled();
    expect(reconnecting.disconnect).toHaveBeenCalledOnce();
    const ended = fake('end');
    await closeConnection(ended);
    expect(ended.disconnect).not.toHaveBeenCalled();
  });

  it('disconnects when quit fails', async () => {
    const client = fake('ready');
    client.quit.mockRejectedValueOnce(new Error('gone'));
    await closeConnection(client);
    expect(client.disconnect).toHaveBeenCalledOnce();
  });
});
