import { encodeFrame, type FrameSender, frameOverhead } from './codec.js';
import { MAX_BATCH } from './limits.js';

/** Where an {@link Outbox} sends frames, and who hears how each publish went. */
export interface OutboxSink<T> {
  /** Publishes one frame; resolves with the number of subscribers that received it. */
  publish(channel: string, frame: string): Promise<number>;
  /** One call per frame, with the tags of the messages it carried. */
  published(channel: string, receivers: number, frame: string, tags: T[]): void;
  /** The publish failed (for example Redis is down); the frame's messages were not sent. */
  failed(channel: string, error: unknown, frame: string, tags: T[]): void;
}

interface Batch<T> {
  parts: string[];
  tags: T[];
  /** UTF-16 length of the parts: a UTF-8 frame takes 1 to 3 bytes per unit. */
  chars: number;
  /** Exact UTF-8 length of the parts, counted only once `chars` alone cannot rule out the limit; else -1. */
  bytes: number;
  /** The receiver's frame limit: the smallest any push for this frame gave. */
  maxBytes: number;
}

/**
 * Groups messages headed for the same channel in the same event-loop turn into
 * one frame, so a busy process makes one PUBLISH per channel per turn while a
 * lone message still leaves at the end of the turn it was sent in. A frame holds
 * at most {@link MAX_BATCH} messages and `maxBytes` bytes; more makes more frames.
 * Each message carries a tag that comes back with its frame's outcome.
 */
export class Outbox<T> {
  readonly #sink: OutboxSink<T>;
  readonly #maxBytes: number;
  readonly #sender: FrameSender | undefined;
  /** Bytes a frame of one message adds around it; each further message adds a comma. */
  readonly #overhead: number;
  #batches = new Map<string, Batch<T>>();
  #scheduled = false;
  #inflight = 0;
  #idle: Array<() => void> = [];

  /** Runs the end-of-turn flush: `setImmediate`, or a virtual clock's, so a simulation controls it. */
  readonly #schedule: (flush: () => void) => void;

  /**
   * `maxBytes` bounds every frame whose pushes name no limit of their own;
   * `sender` goes into every frame, for the compact messages that rely on it;
   * `schedule` runs the flush at the end of the turn.
   */
  constructor(
    sink: OutboxSink<T>,
    maxBytes: number,
    sender?: FrameSender,
    schedule: (flush: () => void) => void = setImmediate,
  ) {
    this.#schedule = schedule;
    this.#sink = sink;
    this.#maxBytes = maxBytes;
    this.#sender = sender;
    this.#overhead = frameOverhead(1, sender);
  }

  /** Messages waiting for the end of this turn. */
  get pending(): number {
    let n = 0;
    for (const batch of this.#batches.values()) n += batch.parts.length;
    return n;
  }

  /**
   * Queues an encoded message (from `encodeMessage` or a compact encoder) for
   * `channel`, whose receiver takes frames of at most `maxBytes`: a frame
   * larger than that is dropped unread, so none is built.
   */
  push(channel: string, encoded: string, tag: T, maxBytes = this.#maxBytes): void {
    let batch = this.#batches.get(channel);
    if (batch && maxBytes < batch.maxBytes) batch.maxBytes = maxBytes;
    if (batch && (batch.parts.length >= MAX_BATCH || !this.#fits(batch, encoded))) {
      // Keep every frame within the receiver's limits, which its decoder enforces
      // on the whole frame: send what we have first.
      this.#batches.delete(channel);
      this.#publish(channel, batch);
      batch = undefined;
    }
    if (!batch) {
      batch = { parts: [], tags: [], chars: 0, bytes: -1, maxBytes };
      this.#batches.set(channel, batch);
    }
    batch.parts.push(encoded);
    batch.tags.push(tag);
    batch.chars += encoded.length;
    if (batch.bytes >= 0) batch.bytes += Buffer.byteLength(encoded, 'utf8');
    if (!this.#scheduled) {
      this.#scheduled = true;
      this.#schedule(this.#flushScheduled);
    }
  }

  /**
   * Whether `encoded` can join `batch` within the byte limit. Counting UTF-8 bytes
   * means reading every message, so it is done only for batches whose UTF-16
   * length at 3 bytes per unit could reach the limit; small batches never pay it.
   */
  #fits(batch: Batch<T>, encoded: string): boolean {
    const overhead = this.#overhead + batch.parts.length;
    if ((batch.chars + encoded.length) * 3 + overhead <= batch.maxBytes) return true;
    if (batch.bytes < 0) {
      let bytes = 0;
      for (const part of batch.parts) bytes += Buffer.byteLength(part, 'utf8');
      batch.bytes = bytes;
    }
    return batch.bytes + Buffer.byteLength(encoded, 'utf8') + overhead <= batch.maxBytes;
  }

  /** Sends everything queued now rather than at the end of the turn. */
  flush(): void {
    const batches = this.#batches;
    if (batches.size === 0) return;
    this.#batches = new Map();
    for (const [channel, batch] of batches) this.#publish(channel, batch);
  }

  /** Flushes, then resolves when every publish so far has been answered. */
  drained(): Promise<void> {
    this.flush();
    if (this.#inflight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #flushScheduled = (): void => {
    this.#scheduled = false;
    this.flush();
  };

  #publish(channel: string, batch: Batch<T>): void {
    const frame = encodeFrame(batch.parts, this.#sender);
    this.#inflight++;
    let sent: Promise<number>;
    try {
      sent = Promise.resolve(this.#sink.publish(channel, frame));
    } catch (error) {
      // A publish that throws instead of rejecting must still be answered, or the
      // frame's tags would never settle and drained() would never resolve.
      sent = Promise.reject(error);
    }
    sent.then(
      (receivers) =>
        this.#settled(() => this.#sink.published(channel, receivers, frame, batch.tags)),
      (error: unknown) => this.#settled(() => this.#sink.failed(channel, error, frame, batch.tags)),
    );
  }

  #settled(report: () => void): void {
    this.#inflight--;
    try {
      report();
    } finally {
      if (this.#inflight === 0 && this.#idle.length > 0) {
        const waiters = this.#idle;
        this.#idle = [];
        for (const resolve of waiters) resolve();
      }
    }
  }
}
