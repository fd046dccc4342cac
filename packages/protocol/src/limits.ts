/** Default limit for one encoded frame, in bytes, on either side. */
export const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024;
/** Smallest frame limit a side may advertise: below it, no useful message fits. */
export const MIN_ADVERTISED_MESSAGE_BYTES = 256;
/** Largest frame limit a side may advertise (Redis refuses larger values anyway). */
export const MAX_ADVERTISED_MESSAGE_BYTES = 1024 * 1024 * 1024;
