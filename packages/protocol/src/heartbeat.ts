/**
 * The value of a worker's heartbeat key (`{ns}:hb:<id>`, written with a TTL).
 *
 * A worker that is well says only its incarnation, as every worker did before
 * this format grew fields: `<incarnation>`. Otherwise it appends what a
 * dispatcher must know to judge it, as `;key=value` pairs of non-negative integers:
 *
 * | key | meaning |
 * |-----|---------|
 * | `b` | its event loop has been blocked this many ms, as of the write (a busy process, not a dead one) |
 * | `s` | the longest recent stall of its event loop that has ended, in ms (acks held back by it may still be arriving) |
 * | `o` | handler slots held past their task's deadline by handlers that ignore their signal |
 *
 * Unknown keys are ignored, so a later worker can add some. The heartbeat is
 * read by every dispatcher once per reconcile round (one MGET for all workers),
 * which is why this state lives here rather than in the registry entry: it
 * changes while the worker runs, and it must be as fresh as the TTL.
 */
export interface Heartbeat {
  /** The worker process that wrote it. */
  incarnation: string;
  /** Milliseconds its event loop has been blocked, as of the write; 0 while it turns. */
  blockedMs: number;
  /** The longest stall of its event loop that ended lately, in ms; 0 if none. */
  stalledMs: number;
  /** Handler slots held past their task's deadline. */
  overdue: number;
}

/** Largest value a field may carry; anything above is clamped on write and refused on read. */
const MAX_FIELD = 1_000_000_000;
const MAX_VALUE_LENGTH = 256;

function field(value: number): number {
  return Math.min(MAX_FIELD, Math.max(0, Math.floor(value)));
}

/** The heartbeat key's value for `beat`: its incarnation alone when nothing else is worth saying. */
export function encodeHeartbeat(beat: Heartbeat): string {
  const b = field(beat.blockedMs);
  const s = field(beat.stalledMs);
  const o = field(beat.overdue);
  if (b === 0 && s === 0 && o === 0) return beat.incarnation;
  let value = beat.incarnation;
  if (b > 0) value += `;b=${b}`;
  if (s > 0) value += `;s=${s}`;
  if (o > 0) value += `;o=${o}`;
  return value;
}

/**
 * Reads a heartbeat key's value; undefined when there is none or it is not one.
 * A field that does not parse is taken as 0: the worker is alive either way.
 */
export function parseHeartbeat(value: string | null | undefined): Heartbeat | undefined {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_VALUE_LENGTH) {
    return undefined;
  }
  const cut = value.indexOf(';');
  if (cut < 0) return { incarnation: value, blockedMs: 0, stalledMs: 0, overdue: 0 };
  if (cut === 0) return undefined;
  const beat: Heartbeat = {
    incarnation: value.slice(0, cut),
    blockedMs: 0,
    stalledMs: 0,
    overdue: 0,
  };
  for (const pair of value.slice(cut + 1).split(';')) {
    const eq = pair.indexOf('=');
    const digits = pair.slice(eq + 1);
    if (eq !== 1 || !/^\d{1,10}$/.test(digits)) continue;
    const n = Number(digits);
    if (n > MAX_FIELD) continue;
    if (pair[0] === 'b') beat.blockedMs = n;
    else if (pair[0] === 's') beat.stalledMs = n;
    else if (pair[0] === 'o') beat.overdue = n;
  }
  return beat;
}

/**
 * Tasks a worker can still take from dispatchers, given slots held past their
 * deadline (`overdue`): its free slots, plus a queue in proportion to them. A
 * queue behind slots that never free would never drain, so a worker whose every
 * slot is stuck takes nothing; one with half its slots stuck queues half as much.
 */
export function usableCapacity(concurrency: number, maxQueue: number, overdue: number): number {
  const slots = concurrency - Math.min(overdue, concurrency);
  if (slots === 0) return 0;
  return slots + Math.ceil((maxQueue * slots) / concurrency);
}
