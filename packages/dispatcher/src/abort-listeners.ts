/**
 * One `abort` listener per signal, however many tasks share it. An application
 * often passes one `AbortSignal` to a batch of dispatches (a request's, a
 * shutdown's); a listener per task made Node warn of a leak past ten
 * (`MaxListenersExceededWarning`) and made an abort walk every listener one by
 * one. Here a signal's tasks sit in one set behind one listener, which goes
 * when the last of them settles.
 */
import type { Task } from './worker-state.js';

interface Listening {
  readonly tasks: Set<Task>;
  readonly onAbort: () => void;
}

export class AbortListeners {
  readonly #bySignal = new Map<AbortSignal, Listening>();
  readonly #aborted: (task: Task) => void;

  /** `aborted` runs for each task of a signal when it aborts. */
  constructor(aborted: (task: Task) => void) {
    this.#aborted = aborted;
  }

  /** Listens on `signal` for `task`. Throws what the signal's `addEventListener` throws; nothing is kept then. */
  add(signal: AbortSignal, task: Task): void {
    let listening = this.#bySignal.get(signal);
    if (!listening) {
      const tasks = new Set<Task>();
      const onAbort = () => this.#abort(signal);
      signal.addEventListener('abort', onAbort, { once: true });
      listening = { tasks, onAbort };
      this.#bySignal.set(signal, listening);
    }
    listening.tasks.add(task);
  }

  /**
   * Stops listening for `task`; the signal's last task takes the listener with
   * it. Throws what the signal's `removeEventListener` throws, for the caller to log.
   */
  remove(signal: AbortSignal, task: Task): void {
    const listening = this.#bySignal.get(signal);
    if (!listening?.tasks.delete(task) || listening.tasks.size > 0) return;
    this.#bySignal.delete(signal);
    signal.removeEventListener('abort', listening.onAbort);
  }

  #abort(signal: AbortSignal): void {
    const listening = this.#bySignal.get(signal);
    // A stand-in that calls the listener while it is being added: not listening yet.
    if (!listening) return;
    this.#bySignal.delete(signal);
    for (const task of [...listening.tasks]) this.#aborted(task);
  }
}
