export {
  type AuthOptions,
  type AuthStats,
  ErrorCode,
  type FrameDropReason,
  type HandlerSummary,
  isRingcastError,
  type RemoteError,
  RingcastError,
  type WorkerReport,
} from '@ringcast/protocol';
export { MAX_KEY_LENGTH } from './admission.js';
export {
  createDispatcher,
  type Dispatcher,
  type DispatcherStats,
  type DispatchOptions,
  type DurableDispatchOptions,
  type Metrics,
  type SubmitOptions,
  type TaskInfo,
  type TaskMap,
  type TaskStateName,
  type WorkerView,
} from './dispatcher.js';
export { readTask, type TaskRecordReader } from './durable/read-task.js';
export { DEFAULT_RESULT_TTL_MS } from './durable/record.js';
export { DispatchError } from './errors.js';
export {
  type ClusterTarget,
  DEFAULT_ACK_TIMEOUT_MS,
  DEFAULT_DRAIN_TIMEOUT_MS,
  DEFAULT_HASH_LOAD_EPSILON,
  DEFAULT_LEAVE_GRACE_MS,
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_MAX_QUEUED,
  DEFAULT_MAX_RETRY_BACKOFF_MS,
  DEFAULT_OWNER_HEARTBEAT_MS,
  DEFAULT_RECONCILE_INTERVAL_MS,
  DEFAULT_RETRY_BACKOFF_MS,
  DEFAULT_STATS_TTL_MS,
  DEFAULT_STRATEGY,
  DEFAULT_TIMEOUT_MS,
  type DispatcherOptions,
  defaultOptions,
  type Logger,
  parseOptions,
} from './options.js';
export { STRATEGY_NAMES, type StrategyName } from './strategy.js';
