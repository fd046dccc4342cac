export {
  type AuthOptions,
  type AuthStats,
  ErrorCode,
  type FieldLogger,
  type FrameDropReason,
  type HandlerSummary,
  isRingcastError,
  type LogFields,
  NackReason,
  type RemoteError,
  RingcastError,
  type WorkerInfo,
  type WorkerReport,
} from '@ringcast/protocol';
export {
  createCliLogger,
  isLogFormat,
  LOG_FORMATS,
  type LogDestination,
  type LogFormat,
} from './cli-logger.js';
export { WorkerError } from './errors.js';
export {
  DEFAULT_CONCURRENCY,
  DEFAULT_DRAIN_TIMEOUT_MS,
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  DEFAULT_HEARTBEAT_TTL_MS,
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_MAX_PARKED,
  DEFAULT_NAMESPACE,
  DEFAULT_PARK_TTL_MS,
  DEFAULT_REDIS_URL,
  defaultOptions,
  type Handler,
  type HandlerContext,
  type Logger,
  MIN_MESSAGE_BYTES,
  parseOptions,
  type WorkerOptions,
} from './options.js';
export { serializeError } from './serialize.js';
export {
  createWorker,
  type Metrics,
  type Worker,
  type WorkerClosed,
  type WorkerStats,
} from './worker.js';
