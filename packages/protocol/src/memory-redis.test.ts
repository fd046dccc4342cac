import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryRedis } from './memory-redis.js';
import { compareMembers } from './memory-sorted-set.js';
import { VirtualClock } from './virtual-clock.js';

function setup() {
  const clock = new VirtualClock(0);
  const redis = new MemoryRedis(clock);
  return { clock, redis };
}

describe('MemoryRedis', () => {
  it('counts receivers on PUBLISH and delivers in publish order, a turn later', async () => {
    const { clock, redis } = setup();
    const a = redis.connect('a');
    const b = redis.connect('b');
    const pub = redis.connect('pub');
    const heard: string[] = [];
    a.onMessage((channel, message) => heard.push(`a ${channel} ${message}`));
    b.onMessage((channel, message) => heard.push(`b ${channel} ${message}`));
    await Promise.all([a.subscribe(['x']), b.subscribe(['x', 'y']), clock.advance(0)]);
    const counts = Promise.all([
      pub.publish('x', '1'),
      pub.publish('y', '2'),
      pub.publish('z', '3'),
    ]);
    expect(heard).toEqual([]);
    await clock.advance(0);
    expect(await counts).toEqual([2, 1, 0]);
    expect(heard).toEqual(['a x 1', 'b x 1', 'b y 2']);
  });

  it('a dropped connection loses its subscriptions and undelivered messages; its owner re-subscribes after restore', async () => {
    const { clock, redis } = setup();
    const sub = redis.connect('sub');
    const pub = redis.connect('pub');
    const heard: string[] = [];
    sub.onMessage((_c, message) => heard.push(message));
    let readies = 0;
    sub.on('ready', () => readies++);
    const subscribed = sub.subscribe(['x']);
    await clock.advance(0);
    await subscribed;
    const first = pub.publish('x', 'delivered');
    await clock.advance(0);
    expect(await first).toBe(1);
    // Published and counted, then the connection is cut before the message is read.
    const cut = pub.publish('x', 'cut').then((receivers) => {
      sub.drop();
      return receivers;
    });
    await clock.advance(0);
    expect(await cut).toBe(1);
    expect(redis.counters.lostMessages).toBe(1);
    sub.restore();
    expect(readies).toBe(1);
    expect(sub.channels).toEqual([]);
    expect(redis.numsub(['x'])).toEqual([0]);
    const unheard = pub.publish('x', 'nobody');
    await clock.advance(0);
    expect(await unheard).toBe(0);
    expect(heard).toEqual(['delivered']);
  });

  it('fails commands on a dropped connection, applying them first when asked (reply lost)', async () => {
    const { clock, redis } = setup();
    const c = redis.connect('c');
    const lost = c.command((r) => r.set('k', 'applied'));
    c.drop('applied');
    await expect(lost).rejects.toThrow('Connection is closed.');
    expect(redis.get('k')).toBe('applied');
    const refused = c.command((r) => r.set('k2', 'v'));
    await expect(refused).rejects.toThrow('Connection is closed.');
    c.restore();
    const notApplied = c.command((r) => r.set('k3', 'v'));
    c.drop('lost');
    await expect(notApplied).rejects.toThrow();
    expect(redis.get('k3')).toBeNull();
    await clock.advance(0);
  });

  it('expires keys on time, and SET NX keeps a live key', async () => {
    const { clock, redis } = setup();
    expect(redis.set('hb', 'one', { px: 100, nx: true })).toBe(true);
    expect(redis.set('hb', 'two', { px: 100, nx: true })).toBe(false);
    await clock.advance(99);
    expect(redis.get('hb')).toBe('one');
    expect(redis.pttl('hb')).toBe(1);
    await clock.advance(1);
    expect(redis.get('hb')).toBeNull();
    expect(redis.set('hb', 'two', { px: 100, nx: true })).toBe(true);
  });

  it('keeps hashes and lists, with Redis index rules', () => {
    const { redis } = setup();
    expect(redis.hset('h', 'a', '1')).toBe(1);
    expect(redis.hset('h', '__proto__', '2')).toBe(1);
    const all = redis.hgetall('h');
    expect(Object.keys(all)).toEqual(['a', '__proto__']);
    expect(Object.getPrototypeOf(all)).toBeNull();
    expect(redis.hdel('h', ['a', '__proto__'])).toBe(2);
    expect(redis.keys()).toEqual([]);
    redis.rpush('l', ['1', '2', '3', '4']);
    expect(redis.lrange('l', 0, -1)).toEqual(['1', '2', '3', '4']);
    redis.ltrim('l', -2, -1);
    expect(redis.lrange('l', 0, -1)).toEqual(['3', '4']);
  });

  it('holds commands while stalled and applies them in order afterwards', async () => {
    const { clock, redis } = setup();
    const c = redis.connect('c');
    redis.stall(500);
    const order: number[] = [];
    const done = Promise.all([1, 2, 3].map((i) => c.command(() => order.push(i))));
    await clock.advance(499);
    expect(order).toEqual([]);
    await clock.advance(1);
    await done;
    expect(order).toEqual([1, 2, 3]);
  });

  it('restart empties everything and drops every connection', async () => {
    const { clock, redis } = setup();
    const c = redis.connect('c');
    let closed = 0;
    c.on('close', () => closed++);
    redis.set('a', '1');
    redis.hset('h', 'f', 'v');
    redis.restart();
    expect(redis.keys()).toEqual([]);
    expect(closed).toBe(1);
    expect(c.status).toBe('down');
    await clock.advance(0);
  });

  it('a persisted restart (AOF, appendfsync always) keeps every key and its TTL, and drops every connection', async () => {
    const { clock, redis } = setup();
    const c = redis.connect('c');
    redis.hset('h', 'f', 'v');
    redis.set('ttl', '1', { px: 1_000 });
    redis.restart('lost', true);
    expect(redis.keys().sort()).toEqual(['h', 'ttl']);
    expect(redis.pttl('ttl')).toBeGreaterThan(0);
    expect(c.status).toBe('down');
    await clock.advance(1_000);
    expect(redis.keys()).toEqual(['h']);
  });

  it('re-sends commands in flight after a restore, as ioredis does: once (resent) or applied twice (twice)', async () => {
    const { clock, redis } = setup();
    const c = redis.connect('c');
    const resent = c.command((r) => r.rpush('once', ['x']));
    c.drop('resent');
    await clock.advance(10);
    expect(redis.lrange('once', 0, -1)).toEqual([]);
    c.restore();
    await clock.advance(0);
    expect(await resent).toBe(1);
    expect(redis.lrange('once', 0, -1)).toEqual(['x']);
    const twice = c.command((r) => r.rpush('twice', ['y']));
    c.drop('twice');
    expect(redis.lrange('twice', 0, -1)).toEqual(['y']);
    c.restore();
    await clock.advance(0);
    // Answered by the second application: the caller never learns of the first.
    expect(await twice).toBe(2);
    expect(redis.lrange('twice', 0, -1)).toEqual(['y', 'y']);
    // Closed for good before the restore: they fail.
    const never = c.command((r) => r.rpush('never', ['z']));
    c.drop('resent');
    c.close();
    await expect(never).rejects.toThrow('Connection is closed.');
    expect(redis.lrange('never', 0, -1)).toEqual([]);
  });

  it("holds replies, messages and events while the connection's process cannot run, and drops them once it died", async () => {
    const { clock, redis } = setup();
    let running = true;
    let dead = false;
    const waiting: Array<() => void> = [];
    const gate = {
      run: (callback: () => void) => {
        if (dead) return;
        if (running) callback();
        else waiting.push(callback);
      },
    };
    const sub = redis.connect('sub', gate);
    const pub = redis.connect('pub');
    const heard: string[] = [];
    sub.onMessage((_c, message) => heard.push(message));
    const subscribed = sub.subscribe(['x']);
    await clock.advance(0);
    await subscribed;
    running = false;
    let replied = false;
    void sub
      .command((r) => r.set('k', 'v'))
      .then(() => {
        replied = true;
      });
    const published = pub.publish('x', 'm1');
    await clock.advance(100);
    // Redis applied the command and counted the subscriber; the process has read neither.
    expect(redis.get('k')).toBe('v');
    expect(await published).toBe(1);
    expect(replied).toBe(false);
    expect(heard).toEqual([]);
    running = true;
    for (const callback of waiting.splice(0)) callback();
    await clock.advance(0);
    expect(replied).toBe(true);
    expect(heard).toEqual(['m1']);
    dead = true;
    void pub.publish('x', 'm2');
    await clock.advance(10);
    expect(heard).toEqual(['m1']);
  });

  it('cuts off a subscriber whose unread messages pass pubsubOutputLimit; it reconnects once its process runs', async () => {
    const { clock, redis } = setup();
    redis.pubsubOutputLimit = 10;
    let running = true;
    const waiting: Array<() => void> = [];
    const gate = {
      run: (callback: () => void) => (running ? callback() : waiting.push(callback)),
    };
    const sub = redis.connect('sub', gate);
    const pub = redis.connect('pub');
    const heard: string[] = [];
    const events: string[] = [];
    sub.onMessage((_c, message) => heard.push(message));
    sub.on('close', () => events.push('close'));
    sub.on('ready', () => events.push('ready'));
    await Promise.all([sub.subscribe(['x']), clock.advance(0)]);
    // A running reader never trips it, however much passes.
    for (let i = 0; i < 5; i++) {
      void pub.publish('x', '123456');
      await clock.advance(1);
    }
    expect(heard).toHaveLength(5);
    running = false;
    void pub.publish('x', 'abcdef');
    void pub.publish('x', 'ghijkl');
    await clock.advance(10);
    expect(redis.counters.cutOff).toBe(1);
    expect(sub.status).toBe('down');
    expect(redis.numsub(['x'])).toEqual([0]);
    running = true;
    for (const callback of waiting.splice(0)) callback();
    await clock.advance(100);
    expect(events).toEqual(['close', 'ready']);
    expect(sub.status).toBe('ready');
    // Both unread messages went with the connection.
    expect(heard).toHaveLength(5);
  });

  it("a SUBSCRIBE applied just before its connection is cut ('applied') dies with the connection", async () => {
    const { clock, redis } = setup();
    const sub = redis.connect('sub');
    const pub = redis.connect('pub');
    const heard: string[] = [];
    sub.onMessage((_c, m) => heard.push(m));
    void sub.subscribe(['ch']).catch(() => undefined);
    sub.drop('applied');
    const receivers = pub.publish('ch', 'while-down');
    await clock.advance(0);
    expect(await receivers).toBe(0);
    // Restored, its owner has not subscribed again: it hears nothing.
    sub.restore();
    const after = pub.publish('ch', 'after-restore');
    await clock.advance(0);
    await after;
    expect(heard).toEqual([]);
  });

  it('a PUBLISH that trips a subscriber past its output limit still counts it (Redis frees the client after the reply)', async () => {
    const { clock, redis } = setup();
    redis.pubsubOutputLimit = 10;
    const sub = redis.connect('sub');
    const pub = redis.connect('pub');
    await Promise.all([sub.subscribe(['ch']), clock.advance(0)]);
    const receivers = pub.publish('ch', 'x'.repeat(20));
    await clock.advance(0);
    expect(await receivers).toBe(1);
    expect(redis.counters.cutOff).toBe(1);
    expect(sub.status).toBe('down');
  });

  it('orders a sorted set by score, then equal scores by member, as ZPOPMIN and ZRANGEBYSCORE read it', () => {
    const { redis } = setup();
    expect(
      redis.zadd('z', [
        [2, 'b'],
        [1, 'z'],
        [2, 'a'],
        [1, 'y'],
        [3, 'c'],
      ]),
    ).toBe(5);
    // Re-adding moves a member and counts nothing new.
    expect(redis.zadd('z', [[0, 'c']])).toBe(0);
    expect(redis.zscore('z', 'c')).toBe(0);
    expect(redis.zcard('z')).toBe(5);
    expect(redis.zrangebyscore('z', 1, 2)).toEqual(['y', 'z', 'a', 'b']);
    expect(redis.zrangebyscore('z', 1, 2, { offset: 1, count: 2 })).toEqual(['z', 'a']);
    expect(redis.zrangebyscore('z', Number.NEGATIVE_INFINITY, 0)).toEqual(['c']);
    expect(redis.zrangebyscore('z', 5, 9)).toEqual([]);
    expect(redis.zpopmin('z', 2)).toEqual([
      ['c', 0],
      ['y', 1],
    ]);
    expect(redis.zrem('z', ['a', 'missing'])).toBe(1);
    expect(redis.zpopmin('z')).toEqual([['z', 1]]);
    expect(redis.zpopmin('z', 10)).toEqual([['b', 2]]);
    // An emptied sorted set is no key at all, as in Redis.
    expect(redis.exists('z')).toBe(false);
    expect(redis.keys()).toEqual([]);
    expect(redis.zpopmin('z', 1)).toEqual([]);
    expect(() => redis.zadd('z', [[Number.NaN, 'x']])).toThrow('not a valid float');
  });

  it('breaks score ties by UTF-8 bytes, as Redis compares members', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (a, b) => {
        const bytes = Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b)));
        expect(Math.sign(compareMembers(a, b))).toBe(bytes);
      }),
      { numRuns: 500 },
    );
    // U+FFFD is below U+1F600 in bytes, though its UTF-16 unit is above the surrogate's.
    const { redis } = setup();
    redis.zadd('z', [
      [1, '\u{1F600}'],
      [1, '\uFFFD'],
      [1, 'a'],
    ]);
    expect(redis.zrangebyscore('z', 1, 1)).toEqual(['a', '\uFFFD', '\u{1F600}']);
  });

  it('keeps sets: SADD counts new members, SREM removes, an emptied set is gone', () => {
    const { redis } = setup();
    expect(redis.sadd('s', ['a', 'b', 'a'])).toBe(2);
    expect(redis.sadd('s', ['b', 'c'])).toBe(1);
    expect(redis.scard('s')).toBe(3);
    expect(redis.sismember('s', 'c')).toBe(true);
    expect(redis.smembers('s').sort()).toEqual(['a', 'b', 'c']);
    expect(redis.srem('s', ['a', 'x'])).toBe(1);
    expect(redis.srem('s', ['b', 'c'])).toBe(2);
    expect(redis.exists('s')).toBe(false);
    expect(redis.smembers('s')).toEqual([]);
    // Adding nothing creates nothing.
    expect(redis.sadd('s', [])).toBe(0);
    expect(redis.zadd('z', [])).toBe(0);
    redis.hmset('h', {});
    expect(redis.keys()).toEqual([]);
  });

  it('sets several hash fields at once and lists them', () => {
    const { redis } = setup();
    redis.hmset('h', { a: '1', b: '2' });
    redis.hmset('h', { b: '3', c: '4' });
    expect(redis.hgetall('h')).toEqual({ a: '1', b: '3', c: '4' });
    expect(redis.hkeys('h')).toEqual(['a', 'b', 'c']);
    expect(redis.hlen('h')).toBe(3);
    expect(redis.hlen('none')).toBe(0);
    expect(redis.exists('h')).toBe(true);
  });

  it('expires sets and sorted sets on time, and restart empties them', async () => {
    const { clock, redis } = setup();
    redis.sadd('s', ['a']);
    redis.zadd('z', [[1, 'a']]);
    redis.hmset('h', { f: 'v' });
    expect(redis.pexpire('s', 100)).toBe(true);
    expect(redis.pexpire('z', 200)).toBe(true);
    expect(redis.pttl('z')).toBe(200);
    await clock.advance(100);
    expect(redis.keys().sort()).toEqual(['h', 'z']);
    expect(redis.scard('s')).toBe(0);
    expect(redis.sadd('s', ['b'])).toBe(1);
    // A new key under an expired name has no TTL.
    expect(redis.pttl('s')).toBe(-1);
    await clock.advance(100);
    expect(redis.zcard('z')).toBe(0);
    expect(redis.pttl('z')).toBe(-2);
    redis.zadd('z', [[1, 'b']]);
    redis.restart();
    expect(redis.keys()).toEqual([]);
  });
});
