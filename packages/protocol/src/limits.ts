/**
 * Size limits of the wire format. Both sides read them from here: a sender that
 * split frames by another rule than its receiver's decoder would send frames the
 * receiver drops whole.
 */

/** Default limit for one encoded frame, in bytes. */
export const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024;
/** Smallest `maxMessageBytes` either side accepts: room for an error result with a full name and code. */
export const MIN_MESSAGE_BYTES = 4_096;
/** Largest `maxMessageBytes` either side accepts (Redis refuses bulk strings beyond 512 MiB). */
export const MAX_MESSAGE_BYTES = 512 * 1024 * 1024;
/**
 * Most messages one frame may carry. The decoder refuses a longer frame whole,
 * so the {@link Outbox} splits by this count as well as by bytes.
 */
export const MAX_BATCH = 10_000;

/** Lowest task priority (higher runs first; the default is 0). */
export const PRIORITY_MIN = -1_000;
/** Highest task priority. */
export const PRIORITY_MAX = 1_000;
