import { EventEmitter } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import {
  closeConnection,
  connectBoth,
  isRedisClient,
  startFailure,
  watchConnections,
  whenReady,
} from './connection.js';

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

  it("rejects with a connecting client's first error, and stops listening", async () => {
    const retrying = fake('reconnecting');
    const failed = whenReady(retrying);
    retrying.emit('error', new Error('connect ECONNREFUSED 127.0.0.1:1'));
    await expect(failed).rejects.toThrow('ECONNREFUSED');
    expect(retrying.listenerCount('ready')).toBe(0);
    expect(retrying.listenerCount('error')).toBe(0);
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

describe('closeConnection of a socket mid-handshake', () => {
  it('keeps an error listener on the socket, so a late second error is heard', async () => {
    const client = fake('connecting');
    const socket = new EventEmitter();
    // ioredis listens with once(): its listener is gone after the first error.
    socket.once('error', () => {});
    Object.assign(client, { stream: socket });
    await closeConnection(client);
    socket.emit('error', new Error('certificate'));
    expect(() => socket.emit('error', new Error('tlsv1 alert decode error'))).not.toThrow();
  });
});

describe('watchConnections, connectBoth and startFailure', () => {
  function pair(command = fake('wait'), subscriber = fake('wait')) {
    return { command, subscriber, ownsCommand: true };
  }

  it('reports every error with its connection and keeps the last', () => {
    const p = pair();
    const seen: string[] = [];
    const errors = watchConnections(p, (error, role) => seen.push(`${role}: ${error.message}`));
    p.command.emit('error', new Error('one'));
    p.subscriber.emit('error', new Error('two'));
    expect(seen).toEqual(['command: one', 'subscriber: two']);
    expect(errors.last?.message).toBe('two');
  });

  it('survives a reporter that throws', () => {
    const p = pair();
    watchConnections(p, () => {
      throw new Error('broken logger');
    });
    expect(() => p.command.emit('error', new Error('x'))).not.toThrow();
  });

  it('waits for both connections before it reports a failure', async () => {
    const command = fake('connecting');
    const subscriber = fake('connecting');
    let settled = false;
    const connecting = connectBoth(pair(command, subscriber)).catch((error: Error) => {
      settled = true;
      return error;
    });
    command.emit('end');
    await new Promise((resolve) => setImmediate(resolve));
    // The subscriber is still in its handshake: tearing it down now would be unsafe.
    expect(settled).toBe(false);
    subscriber.emit('ready');
    expect(((await connecting) as Error).message).toMatch(/ended before it was ready/);
  });

  it('explains "Connection is closed." by the error that came before it, redacted', () => {
    const errors = { last: new Error('connect ENOENT //:secret@h:6379') };
    const failure = startFailure(new Error('Connection is closed.'), errors, 'redis://:secret@h:1');
    expect(failure.message).toBe('connect ENOENT //***@h:6379 (redis h:1)');
    expect(failure.cause).toBe(errors.last);
    const own = new Error('NOPERM no permissions');
    expect(startFailure(own, errors, { host: 'k', port: 2 })).toEqual({
      message: 'NOPERM no permissions (redis k:2)',
      cause: own,
    });
  });

  it('explains a cluster\'s "None of startup nodes is available" by the last node\'s own answer', () => {
    // ioredis's ClusterAllFailedError, emitted before its connect rejects with the generic line.
    const notCluster = new Error('ERR This instance has cluster support disabled');
    const errors = {
      last: Object.assign(new Error('Failed to refresh slots cache.'), {
        lastNodeError: notCluster,
      }),
    };
    const failure = startFailure(new Error('None of startup nodes is available'), errors, {
      cluster: [{ host: 'h', port: 7000 }],
    });
    expect(failure.cause).toBe(notCluster);
    expect(failure.message).toMatch(/^ERR This instance has cluster support disabled \(redis /);
  });
});
