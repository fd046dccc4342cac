/**
 * The simulated deployment's settings: its namespace, frame limits, drain and
 * heartbeat times. The world deploys with them, and the run's checks and
 * waits are measured by them.
 */

export const NAMESPACE = 'sim';
/** The dispatchers' frame limit, and half the workers'. */
export const MAX_MESSAGE_BYTES = 16 * 1024;
/** The other workers' frame limit. */
export const SMALL_MESSAGE_BYTES = 8 * 1024;
/** Every process's frame limit in a flood run: room for more than MAX_BATCH small messages. */
export const FLOOD_MESSAGE_BYTES = 4 * 1024 * 1024;
/** A worker's queue in a flood run: a whole burst fits. */
export const FLOOD_QUEUE = 30_000;
export const WORKER_DRAIN_TIMEOUT_MS = 1_500;
export const DISPATCHER_DRAIN_TIMEOUT_MS = 1_000;
/** Dispatchers draw their `maxAttempts` from 1 to this. */
export const MAX_ATTEMPTS = 3;
/** The dispatchers' owner heartbeat: a dead one's durable tasks are adopted 3 × this after its last beat. */
export const OWNER_HEARTBEAT_MS = 100;
/**
 * The dispatchers' full registry reads, the safety net under the change log:
 * often enough to fire within a run, so that a lost change notice
 * (`registry-log-loss`) is healed by it and the run sees it healed.
 */
export const FULL_RECONCILE_MS = 2_000;
