// Progress while the demo runs: a live bar on a terminal, plain periodic lines otherwise.

export interface ProgressSample {
  done: number;
  total: number;
  /** Tasks at workers or waiting in the dispatcher right now. */
  inflight: number;
}

export interface Progress {
  /** Prints a line without tearing the bar. */
  log(line: string): void;
  start(): void;
  stop(): void;
}

const BAR_WIDTH = 28;
const TTY_INTERVAL_MS = 100;
const PLAIN_INTERVAL_MS = 2_000;
/** The rate shown is over this trailing window, so it reacts to the kill. */
const RATE_WINDOW_MS = 1_000;

const number = new Intl.NumberFormat('en-US');

export function createProgress(out: NodeJS.WriteStream, sample: () => ProgressSample): Progress {
  const tty = out.isTTY === true;
  const history: Array<{ at: number; done: number }> = [];
  let timer: NodeJS.Timeout | undefined;
  let drawn = false;

  const rate = (now: number, done: number): number => {
    history.push({ at: now, done });
    while (history.length > 2 && now - history[1]!.at >= RATE_WINDOW_MS) history.shift();
    const first = history[0]!;
    const seconds = (now - first.at) / 1000;
    return seconds > 0 ? (done - first.done) / seconds : 0;
  };

  const render = (): string => {
    const { done, total, inflight } = sample();
    const perSecond = number.format(Math.round(rate(performance.now(), done)));
    const counts = `${number.format(done)}/${number.format(total)}`;
    if (!tty) {
      const percent = Math.floor((done / total) * 100);
      return `progress: ${counts} tasks (${percent}%), ${perSecond} tasks/s, ${inflight} in flight`;
    }
    const filled = Math.round((done / total) * BAR_WIDTH);
    const bar = '█'.repeat(filled) + '░'.repeat(BAR_WIDTH - filled);
    return `  ${bar} ${counts}  ${perSecond} tasks/s  ${inflight} in flight`;
  };

  const draw = () => {
    if (tty) {
      out.write(`\r\x1b[2K${render()}`);
      drawn = true;
    } else {
      out.write(`${render()}\n`);
    }
  };

  const clear = () => {
    if (tty && drawn) out.write('\r\x1b[2K');
    drawn = false;
  };

  return {
    log(line) {
      clear();
      out.write(`${line}\n`);
      if (timer && tty) draw();
    },
    start() {
      rate(performance.now(), sample().done);
      // Not unref'd: on the embedded stand-in no socket keeps the process alive, and the
      // dispatcher's own timers are unref'd, so this is what lets it notice a dead worker.
      timer = setInterval(draw, tty ? TTY_INTERVAL_MS : PLAIN_INTERVAL_MS);
    },
    stop() {
      if (!timer) return;
      clearInterval(timer);
      timer = undefined;
      // The last state stays on screen, the bar at 100% on a terminal.
      draw();
      if (tty) out.write('\n');
      drawn = false;
    },
  };
}
