export { DEFAULT_NAMESPACE, isValidNamespace, type Names, names } from './channels.js';
export {
  assertNoForbiddenKeys,
  byteLength,
  DEFAULT_MAX_MESSAGE_BYTES,
  type DecodeOptions,
  type DecodeResult,
  decode,
  encode,
  encodeFrame,
  encodeMessage,
  frameOverhead,
  MAX_BATCH,
  type RejectedMessage,
} from './codec.js';
export { closeConnection, isRedisClient, type RedisConnection, whenReady } from './connection.js';
export {
  ErrorCode,
  isRingcastError,
  ProtocolError,
  type RemoteError,
  RingcastError,
  type RingcastErrorOptions,
} from './errors.js';
export {
  type AckMessage,
  type CancelMessage,
  type ErrorResultMessage,
  type HelloMessage,
  ID_PATTERN,
  isValidId,
  type LeaveMessage,
  type Message,
  type MessageContext,
  type MessageKind,
  messageContext,
  type NackMessage,
  NackReason,
  type OkResultMessage,
  PROTOCOL_VERSION,
  parseMessage,
  parseWorkerInfo,
  type ResultMessage,
  type TaskMessage,
  type WorkerInfo,
} from './messages.js';
export { Outbox, type OutboxSink } from './outbox.js';
