export {
  AUTH_KEYS_ENV,
  AUTH_KEYS_FLAG,
  type AuthKeysSource,
  authKeysOption,
  parseAuthKeys,
  readAuthKeysFile,
} from './auth-keys.js';
export {
  type AuthOptions,
  DEFAULT_MAX_SKEW_MS,
  type FrameKey,
  isValidKeyId,
  type Keyring,
  MAX_AUTH_KEYS,
  MAX_KEY_ID_LENGTH,
  MAX_MAX_SKEW_MS,
  MIN_MAX_SKEW_MS,
  MIN_SECRET_LENGTH,
  parseAuthOptions,
} from './auth-options.js';
export {
  DEFAULT_NAMESPACE,
  isValidNamespace,
  type Names,
  type NamesOptions,
  names,
} from './channels.js';
export {
  CLUSTER_CLI_OPTIONS,
  type CliConnection,
  clusterHelp,
  connectionOptions,
  DEFAULT_REDIS_URL,
  type Environment,
  type ParsedValues,
  parseClusterNodes,
  stringOption,
  UsageError,
} from './cli.js';
export { describeArgsError } from './cli-args-error.js';
export {
  createCliLogger,
  isLogFormat,
  LOG_FORMATS,
  type LogDestination,
  type LogFormat,
} from './cli-logger.js';
export {
  readTlsFiles,
  redisTlsOptions,
  TLS_CLI_OPTIONS,
  type TlsFiles,
  type TlsMaterial,
  tlsHelp,
} from './cli-tls.js';
export { type Clock, systemClock, type Timer } from './clock.js';
export {
  type ClusterConstructor,
  type ClusterNode,
  type ClusterTargetOptions,
  clusterCommandOptions,
  clusterTargetProblem,
  isClusterTarget,
  openClusterConnections,
  SLOTS_REFRESH_MS,
} from './cluster-target.js';
export {
  assertNoForbiddenKeys,
  byteLength,
  checkEncodedMessage,
  type DecodeOptions,
  type DecodeResult,
  decode,
  encode,
  encodeCompactAck,
  encodeCompactError,
  encodeCompactOk,
  encodeCompactOkValue,
  encodeCompactResend,
  encodeCompactTask,
  encodeFrame,
  encodeMessage,
  type FrameSender,
  frameOverhead,
  type RejectedMessage,
} from './codec.js';
export { CompactKind, compactContext, parseCompact } from './compact-messages.js';
export {
  type ConnectionErrors,
  type ConnectionPair,
  type ConnectionRole,
  closeConnection,
  closeConnections,
  connectBoth,
  connectionDefaults,
  isRedisClient,
  openConnections,
  type RedisConnection,
  startFailure,
  watchConnections,
  whenReady,
} from './connection.js';
export { BACKLOG_PRIORITY_STEP, backlogScore, isValidPriority } from './durable.js';
export {
  ErrorCode,
  isRingcastError,
  ProtocolError,
  type RemoteError,
  RingcastError,
  type RingcastErrorOptions,
} from './errors.js';
export {
  type AuthStats,
  FrameGuard,
  type FrameGuardOptions,
  type GuardLog,
} from './frame-guard.js';
export {
  FRAME_DROP_REASONS,
  type FrameDropReason,
  FrameSealer,
  MAX_HEADER_CHARS,
  maxSealedChars,
  type OpenedFrame,
  SEALED_FRAME_CODE,
  SEALED_FRAME_MARKER,
} from './frame-seal.js';
export {
  HandlerStats,
  HandlerStatsBook,
  type HandlerSummary,
  MAX_TRACKED_HANDLERS,
  OTHER_HANDLERS,
} from './handler-stats.js';
export { encodeHeartbeat, type Heartbeat, parseHeartbeat, usableCapacity } from './heartbeat.js';
export {
  bucketLow,
  bucketOf,
  DurationHistogram,
  type DurationSummary,
  HISTOGRAM_BUCKETS,
  type HistogramSnapshot,
  parseHistogramSnapshot,
} from './histogram.js';
export {
  type IoredisConstructors,
  openIoredisConnections,
  type RedisConstructor,
} from './ioredis-connections.js';
export { jsonLoss } from './json-loss.js';
export {
  DEFAULT_MAX_MESSAGE_BYTES,
  MAX_BATCH,
  MAX_MESSAGE_BYTES,
  MIN_MESSAGE_BYTES,
  PRIORITY_MAX,
  PRIORITY_MIN,
} from './limits.js';
export {
  adaptLogger,
  type FieldLogger,
  isStructuredLogger,
  type LogFields,
  type Logger,
  parseLogger,
  type StructuredLogger,
  silentLogger,
  withFields,
  withPrefix,
} from './logger.js';
export {
  ConnectionClosedError,
  type InFlight,
  MemoryConnection,
  type ProcessGate,
} from './memory-connection.js';
export { MemoryRedis } from './memory-redis.js';
export {
  type DroppedField,
  ID_PATTERN,
  isValidId,
  type MessageContext,
} from './message-fields.js';
export {
  type AckMessage,
  type CancelMessage,
  type DrainMessage,
  type ErrorResultMessage,
  type HelloMessage,
  type LeaveMessage,
  MAX_WEIGHT,
  type Message,
  type MessageKind,
  type NackMessage,
  NackReason,
  type OkResultMessage,
  PROTOCOL_VERSION,
  type ResultMessage,
  type ReweightMessage,
  type TaskMessage,
  type WorkerInfo,
} from './messages.js';
export {
  DURATION_BUCKETS_SECONDS,
  type HistogramSeries,
  LabelledHistogram,
  type MetricsRequestHandler,
  metricsHandler,
} from './metrics-endpoint.js';
export {
  checkInteger,
  checkRedis,
  checkRedisUrl,
  checkTimer,
  describeValue,
  MAX_TIMER_MS,
  type OptionFailure,
} from './options.js';
export { Outbox, type OutboxSink } from './outbox.js';
export { messageContext, parseMessage, parseWorkerInfo } from './parse-message.js';
export { ProcessClock } from './process-clock.js';
export { RateLimitedLog } from './rate-limited-log.js';
export { RateWindow, type Throughput } from './rate-window.js';
export { describeRedis, errorMessage, redactText, redactUrl } from './redact.js';
export { type RedisUrlOptions, redisUrlOptions } from './redis-url.js';
export {
  BEAT_SCRIPT,
  beatKeys,
  CHANGE_LOG_SLACK,
  CHANGES_SCRIPT,
  LEAVE_SCRIPT,
  memoryBeat,
  memoryChanges,
  memoryForgetIfEmpty,
  memoryLeave,
  memoryLogChange,
  memoryPruned,
  parseChanges,
  type RegistryChanges,
  type RegistryLogKeys,
} from './registry-log.js';
export { MAX_REMEMBERED_FRAMES, ReplayMemory } from './replay-memory.js';
export {
  REPORT_INTERVAL_MS,
  ReportPublisher,
  type ReportPublisherHost,
} from './report-publisher.js';
export {
  type DispatcherReport,
  parseStatsReport,
  parseWorkerReport,
  type StatsReport,
  type WorkerReport,
} from './stats-report.js';
export { TaskTable } from './task-table.js';
export { textLogger } from './text-logger.js';
export {
  isValidTraceparent,
  isValidTracestate,
  MAX_TRACESTATE,
  readTraceContext,
  TRACEPARENT_LENGTH,
  type TraceContext,
} from './trace-context.js';
export {
  describeUnopened,
  isSealedValue,
  openValue,
  SEALED_VALUE_PREFIX,
  sealedValueKeyId,
  sealValue,
  type UnopenedValue,
  type ValueOpenFailure,
} from './value-seal.js';
export { VirtualClock } from './virtual-clock.js';
export { parsePolicyWeight } from './weight-policy.js';
