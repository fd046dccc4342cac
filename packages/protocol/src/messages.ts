/**
 * The messages of the wire protocol, as the cores see them once a frame is
 * decoded and validated: their kinds and fields. Validation is in
 * message-fields.ts (the field checks), parse-message.ts (the object forms)
 * and compact-messages.ts (the array forms).
 */
import { ErrorCode, type RemoteError } from './errors.js';

/** Bumped on any incompatible change to the wire format. Frames of another version are rejected. */
export const PROTOCOL_VERSION = 2;

/** Why a worker refused a task. BUSY, DRAINING and WORKER_LOST re-route; the others reject the caller. */
export const NackReason = {
  BUSY: ErrorCode.BUSY,
  DRAINING: ErrorCode.DRAINING,
  UNKNOWN_HANDLER: ErrorCode.UNKNOWN_HANDLER,
  EXPIRED: ErrorCode.EXPIRED,
  INVALID_MESSAGE: ErrorCode.INVALID_MESSAGE,
  /** A re-sent attempt named an incarnation of this worker that is gone: it may have run there, and is not run here. */
  WORKER_LOST: ErrorCode.WORKER_LOST,
} as const;
export type NackReason = (typeof NackReason)[keyof typeof NackReason];

/** Dispatcher → worker: run `handler` with `payload`. One attempt of a task; `token` fences it. */
export interface TaskMessage {
  kind: 'task';
  /** Task id, unique per dispatcher; the same across attempts. */
  id: string;
  /** 1 for the first attempt; the handler sees it. */
  attempt: number;
  /** Unique per attempt; a reply is accepted only for the current attempt's token. */
  token: string;
  handler: string;
  payload?: unknown;
  /** Epoch milliseconds after which the caller no longer waits. */
  deadline: number;
  /** Id of the dispatcher that wants the reply. */
  replyTo: string;
  /**
   * The largest frame that dispatcher accepts: replies must fit it. Absent from
   * dispatchers that predate it; a worker then holds replies to its own limit.
   */
  replyMaxBytes?: number;
  /**
   * Set on a re-send (recovery): the incarnation of the worker that may already
   * have run this attempt. A process under the same id but of another
   * incarnation (a restart) has no record of it and must not run it: it nacks
   * WORKER_LOST, and the dispatcher counts the attempt as spent.
   */
  incarnation?: string;
  /**
   * The W3C trace context of the dispatcher's producer span, when it traces:
   * the worker's consumer span continues that trace. Left out, and the task
   * run untraced, when it does not validate (trace-context.ts).
   */
  traceparent?: string;
  /** Vendor trace state that goes with {@link traceparent}. */
  tracestate?: string;
}

/** Dispatcher → worker: stop the attempt `token` of task `id` (its signal aborts). */
export interface CancelMessage {
  kind: 'cancel';
  id: string;
  token: string;
  /**
   * The dispatcher that gives up on the attempt. A durable task's attempt can
   * answer several dispatchers (one adopted the task and sent the same attempt):
   * the run then goes on for the others, and stops when none is left. Absent
   * (a `cancel(id)`, or a dispatcher that predates it), the run stops for all.
   */
  from?: string;
}

/** Worker → dispatcher: the attempt arrived and is queued or running. */
export interface AckMessage {
  kind: 'ack';
  id: string;
  token: string;
  worker: string;
  /** The acking process's incarnation: after a restart under the same id, it tells whose attempt this is. */
  incarnation?: string;
}

/** Worker → dispatcher: the attempt was not taken. */
export interface NackMessage {
  kind: 'nack';
  id: string;
  token: string;
  worker: string;
  reason: NackReason;
  message?: string;
}

interface ResultBase {
  kind: 'result';
  id: string;
  token: string;
  worker: string;
  /** The incarnation of the process that ran the attempt. */
  incarnation?: string;
}
export interface OkResultMessage extends ResultBase {
  ok: true;
  value?: unknown;
}
export interface ErrorResultMessage extends ResultBase {
  ok: false;
  error: RemoteError;
}
/** Worker → dispatcher: the attempt's outcome. Also stands in for the ack. */
export type ResultMessage = OkResultMessage | ErrorResultMessage;

/** What a worker publishes about itself in the registry and in its hello. */
export interface WorkerInfo {
  id: string;
  /** Fresh for every start; a restarted worker is a new member of the ring. */
  incarnation: string;
  weight: number;
  concurrency: number;
  /** Tasks it holds beyond `concurrency` before it answers BUSY; a dispatcher may keep this many more in flight. */
  maxQueue: number;
  /** How long its heartbeat key lives; dispatchers wait this long before judging it after Redis stalled. */
  heartbeatTtlMs: number;
  /**
   * How often it writes its heartbeat, so a tool can tell a late heartbeat
   * from one that is merely not due. Absent from workers that predate it:
   * take a third of `heartbeatTtlMs`, the default ratio.
   */
  heartbeatIntervalMs?: number;
  /**
   * The largest frame it accepts: dispatchers send it no task that would not fit.
   * Taken as {@link DEFAULT_MAX_MESSAGE_BYTES} from workers that predate it.
   */
  maxMessageBytes: number;
  handlers: string[];
  host: string;
  pid: number;
  /** The worker package's version. */
  version: string;
  /** Epoch milliseconds. */
  startedAt: number;
  /**
   * Set by workers that read a task's trace context (the compact traced kinds):
   * a dispatcher sends a traced task to any other worker without its trace,
   * which that worker would refuse as an unknown kind.
   */
  traceContext?: true;
}

/** Worker → control channel: it joined (or re-registered after a reconnect). */
export interface HelloMessage {
  kind: 'hello';
  worker: WorkerInfo;
  /**
   * Set when the only news is the worker's weight (an operator's reweight).
   * Any other hello from a known process means it re-subscribed after a
   * reconnect, and dispatchers re-send what it may have missed; this one
   * lets them skip that.
   */
  reweight?: true;
}

/** Worker → control channel: it is leaving; dispatchers re-route its unfinished attempts. */
export interface LeaveMessage {
  kind: 'leave';
  id: string;
  incarnation: string;
}

/**
 * Operator → worker (on the worker's own channel): from now on, weigh this
 * much in every dispatcher's ring. The worker re-registers with it and says
 * hello, so dispatchers follow at once and the registry shows it. With
 * `incarnation`, only that process of the id takes it. The frame is the
 * prompt; the record is the operator's policy hash (`names().weightsKey`),
 * written before the frame is published: workers read it at start and with
 * every heartbeat, so a worker restarted under the id starts with it, one that
 * missed the frame catches up, and one whose entry was deleted goes back to
 * its configured weight.
 */
export interface ReweightMessage {
  kind: 'reweight';
  /** The worker id it is meant for; a worker ignores one addressed to another id. */
  id: string;
  incarnation?: string;
  weight: number;
}

/**
 * Operator → worker (on the worker's own channel): leave gracefully, exactly
 * as `close()` does (queued attempts re-routed, running ones finished).
 */
export interface DrainMessage {
  kind: 'drain';
  id: string;
  incarnation?: string;
}

/** The largest weight a worker may have; dispatchers refuse registry entries above it. */
export const MAX_WEIGHT = 1_000_000;

export type Message =
  | TaskMessage
  | CancelMessage
  | AckMessage
  | NackMessage
  | ResultMessage
  | HelloMessage
  | LeaveMessage
  | ReweightMessage
  | DrainMessage;

export type MessageKind = Message['kind'];
