/**
 * Timeouts: what happens when a task's timer on the wheel fires. One timer per
 * task, set to the nearest of its deadline (then `TIMEOUT`, or `NO_WORKERS` if
 * no worker ever joined), its ack window (then the attempt is presumed lost,
 * unless its worker's event loop is blocked: see {@link Timeouts.ackMissing}),
 * the end of a retry's backoff or a publish retry, and a leaving worker's grace.
 */
import { type Clock, ErrorCode } from '@ringcast/protocol';
import type { Delivery } from './delivery.js';
import { applyHeartbeat, HeartbeatProbe, waitsForAck } from './liveness.js';
import type { LocalQueue } from './local-queue.js';
import type { DispatcherLog } from './log.js';
import type { Membership } from './membership.js';
import type { ResolvedOptions } from './options.js';
import type { Settlement } from './settlement.js';
import { isDelayed, TaskState as State } from './task.js';
import type { TimerWheel } from './timer-wheel.js';
import type { DispatcherTransport } from './transport.js';
import type { Task } from './worker-state.js';

/** Longest wait for a fresh heartbeat when an ack is late; past it the last known one decides. */
const PROBE_TIMEOUT_MS = 1_000;

/** What timeouts need of the rest of the dispatcher. */
export interface TimeoutsHost {
  readonly options: Pick<ResolvedOptions, 'ackTimeoutMs' | 'reconcileIntervalMs'>;
  readonly clock: Clock;
  readonly transport: Pick<DispatcherTransport, 'readHeartbeats'>;
  readonly wheel: Pick<TimerWheel<Task>, 'schedule'>;
  readonly queue: Pick<LocalQueue, 'pump'>;
  readonly membership: Pick<Membership, 'size'>;
  readonly delivery: Pick<Delivery, 'requeue' | 'redeliver' | 'due'>;
  readonly settlement: Pick<Settlement, 'fail' | 'timeout'>;
  readonly log: Pick<DispatcherLog, 'warn'>;
}

export class Timeouts {
  readonly #host: TimeoutsHost;
  readonly #probe: HeartbeatProbe;

  constructor(host: TimeoutsHost) {
    this.#host = host;
    const { transport } = host;
    this.#probe = new HeartbeatProbe(
      (ids) => transport.readHeartbeats(ids),
      host.clock,
      PROBE_TIMEOUT_MS,
    );
  }

  /** The task's timer fired at `now`. */
  wake(task: Task, now: number): void {
    const host = this.#host;
    if (task.state === State.Settled) return;
    if (now >= task.deadline) {
      if (task.attempt === 0 && host.membership.size === 0) {
        host.settlement.fail(
          task,
          ErrorCode.NO_WORKERS,
          'no worker joined before the task timed out',
          false,
        );
      } else {
        const where = task.worker
          ? ` on worker ${task.worker.id}`
          : task.attempt > 0
            ? ''
            : ' waiting for a free worker';
        host.settlement.timeout(task, where, true);
      }
      host.queue.pump();
      return;
    }
    if (task.state === State.Sent) {
      this.ackMissing(task);
    } else if (isDelayed(task)) {
      host.delivery.due(task, now);
      host.queue.pump();
    } else if (task.state === State.Waiting) {
      // Its last attempt is over and accounted for: this is the next one.
      host.delivery.requeue(task);
      host.queue.pump();
    } else if (task.state === State.Acked && task.worker?.leaving) {
      host.delivery.redeliver(task, true, `worker ${task.worker.id} left without finishing`);
      host.queue.pump();
    }
  }

  /**
   * The ack window of the task's attempt closed. If the worker is alive with its
   * event loop blocked, the attempt is most likely waiting in its socket or queue:
   * sending it elsewhere too would run it twice, so wait one more window (bounded
   * by the deadline, and by the heartbeat: a dead worker's lapses). Otherwise the
   * attempt or its ack was lost: suspect the worker, try another. The decision
   * takes a fresh heartbeat, since the last reconcile round may predate the block
   * (see liveness.ts).
   */
  ackMissing(task: Task): void {
    const host = this.#host;
    const { ackTimeoutMs } = host.options;
    const worker = task.worker!;
    const attempt = task.attempt;
    // While the heartbeat is read, the deadline still bounds the task.
    host.wheel.schedule(task, task.deadline);
    void this.#probe.read(worker.id).then((read) => {
      if (task.state !== State.Sent || task.worker !== worker || task.attempt !== attempt) return;
      if (read.ok && read.beat?.incarnation === worker.incarnation) {
        applyHeartbeat(worker, read.beat, host.options.reconcileIntervalMs);
      }
      // Redis did not answer in time: the last round's view of the worker decides.
      const busy = read.ok
        ? waitsForAck(read.beat, worker.incarnation)
        : worker.blockedMs > 0 || worker.stalledMs > 0;
      if (busy) {
        host.log.warn(
          'blocked-loop',
          `worker ${worker.id}'s event loop is blocked (${worker.blockedMs || worker.stalledMs} ms); ` +
            'waiting for its acks instead of sending its tasks elsewhere',
          {
            worker: worker.id,
            task: task.id,
            handler: task.handler,
            attempt,
            blockedMs: worker.blockedMs || worker.stalledMs,
          },
        );
        host.wheel.schedule(task, Math.min(task.deadline, host.clock.now() + ackTimeoutMs));
        return;
      }
      worker.suspected = true;
      host.log.warn(
        'ack-timeout',
        `worker ${worker.id} did not acknowledge within ${ackTimeoutMs} ms; suspecting it`,
        { worker: worker.id, task: task.id, handler: task.handler, attempt, event: 'redelivery' },
      );
      host.delivery.redeliver(task, true, `worker ${worker.id} did not acknowledge`);
      host.queue.pump();
    });
  }
}
