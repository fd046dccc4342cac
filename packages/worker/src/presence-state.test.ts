import { describe, expect, it } from 'vitest';
import { LoopWatch, msToNs, PolicyReads, SharedLoopState, STALL_MS } from './presence-state.js';

const ms = (n: number) => msToNs(n);
const threshold = msToNs(STALL_MS);

describe('SharedLoopState', () => {
  it('two views over one buffer see the same state, as two threads do', () => {
    const main = new SharedLoopState();
    const thread = new SharedLoopState(main.buffer);
    expect(thread.beating).toBe(false);
    main.live = true;
    main.commandReady = true;
    expect(thread.beating).toBe(true);
    main.overdue = 3;
    expect(thread.overdue).toBe(3);
    main.stop();
    expect(thread.beating).toBe(false);
  });

  it.each([
    ['no subscription', { live: false, commandReady: true }],
    ['no command connection', { live: true, commandReady: false }],
  ])('does not beat with %s', (_, flags) => {
    const state = new SharedLoopState();
    state.live = flags.live;
    state.commandReady = flags.commandReady;
    expect(state.beating).toBe(false);
  });

  it('reports how long the loop has been blocked, from its last stamp', () => {
    const state = new SharedLoopState();
    expect(state.blockedMs(ms(10_000), threshold)).toBe(0);
    state.turn(ms(10_000), threshold);
    expect(state.blockedMs(ms(10_150), threshold)).toBe(0);
    expect(state.blockedMs(ms(10_200), threshold)).toBe(200);
    expect(state.blockedMs(ms(15_000), threshold)).toBe(5_000);
  });

  it('records a stall when the loop turns again, and forgets it after the window', () => {
    const state = new SharedLoopState();
    state.turn(ms(1_000), threshold);
    // The first stamp measures nothing.
    expect(state.stalledMs(ms(1_000), ms(3_000))).toBe(0);
    state.turn(ms(1_050), threshold);
    expect(state.stalledMs(ms(1_050), ms(3_000))).toBe(0);
    state.turn(ms(4_050), threshold);
    expect(state.stalledMs(ms(4_100), ms(3_000))).toBe(3_000);
    expect(state.stalledMs(ms(7_050), ms(3_000))).toBe(3_000);
    expect(state.stalledMs(ms(7_051), ms(3_000))).toBe(0);
  });
});

describe('LoopWatch', () => {
  function setup() {
    const main = new SharedLoopState();
    const watch = new LoopWatch(new SharedLoopState(main.buffer), 100, 400);
    return { main, watch };
  }

  it('reports a loop blocked while the thread ticks on time', () => {
    const { main, watch } = setup();
    main.turn(ms(1_000), threshold);
    main.overdue = 2;
    expect(watch.sample(ms(1_100))).toEqual({ blockedMs: 0, stalledMs: 0, overdue: 2 });
    expect(watch.sample(ms(1_200))).toEqual({ blockedMs: 200, stalledMs: 0, overdue: 2 });
    expect(watch.sample(ms(1_300))).toEqual({ blockedMs: 300, stalledMs: 0, overdue: 2 });
    main.turn(ms(1_350), threshold);
    expect(watch.sample(ms(1_400))).toEqual({ blockedMs: 0, stalledMs: 350, overdue: 2 });
  });

  it('does not blame the loop for time the whole process was stopped', () => {
    const { main, watch } = setup();
    main.turn(ms(1_000), threshold);
    expect(watch.sample(ms(1_050)).blockedMs).toBe(0);
    // SIGSTOP for 5 s: the thread's own tick comes 5 s late, the main loop's too.
    expect(watch.sample(ms(6_050))).toMatchObject({ blockedMs: 0, stalledMs: 0 });
    main.turn(ms(6_060), threshold);
    expect(watch.sample(ms(6_150))).toMatchObject({ blockedMs: 0, stalledMs: 0 });
    // A real block after the pause still counts, from the end of the pause.
    expect(watch.sample(ms(6_250)).blockedMs).toBe(0);
    expect(watch.sample(ms(6_350)).blockedMs).toBe(290);
  });
});

describe('PolicyReads', () => {
  it('passes on news only: not a read like the last, not one sent before the entry last changed', () => {
    const main = new SharedLoopState();
    const thread = new SharedLoopState(main.buffer);
    const delivered: Array<string | null> = [];
    const reads = new PolicyReads(main, (value) => delivered.push(value));
    reads.read(null, thread.entryGeneration);
    reads.read(null, thread.entryGeneration);
    // A beat goes out, then the worker takes a reweight frame (a new entry) before its answer.
    const before = thread.entryGeneration;
    main.newEntry();
    reads.read(null, before);
    expect(delivered).toEqual([null]);
    // The next beat, sent after the new entry, is read whatever it says.
    reads.read('9', thread.entryGeneration);
    reads.read('9', thread.entryGeneration);
    main.newEntry();
    reads.read('9', thread.entryGeneration);
    expect(delivered).toEqual([null, '9', '9']);
  });
});
