/** A simulated process, dispatcher or worker, as the world and the faults see it. */
import type { Dispatcher, StrategyName } from '@ringcast/dispatcher';
import type { MemoryConnection, ProcessClock } from '@ringcast/protocol';
import type { Worker } from '@ringcast/worker';

export interface SimProcess {
  readonly kind: 'dispatcher' | 'worker';
  readonly id: string;
  readonly clock: ProcessClock;
  readonly command: () => MemoryConnection | undefined;
  readonly subscriber: () => MemoryConnection | undefined;
  /** Every connection it has open (a worker's heartbeat thread has one of its own). */
  readonly connections: () => MemoryConnection[];
  state: 'running' | 'crashed' | 'closing' | 'closed' | 'failed';
}

export interface SimDispatcher extends SimProcess {
  readonly kind: 'dispatcher';
  readonly core: Dispatcher;
  /** Its `maxAttempts` (1–3, drawn per dispatcher, so the attempt bound is tight in some runs). */
  readonly maxAttempts: number;
  /** Its selection strategy, drawn per dispatcher. */
  readonly strategy: StrategyName;
  /** Calls made on it that have not settled: abandoned if it dies. */
  readonly open: Set<number>;
}

export interface SimWorker extends SimProcess {
  readonly kind: 'worker';
  readonly core: Worker;
  /** Its heartbeat thread's clock: frozen by a pause, not by a blocked loop. */
  readonly thread: ProcessClock;
  closed: Promise<void> | undefined;
}
