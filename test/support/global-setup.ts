// Global setup of the integration project: runs once, in the main vitest process.
import { privateRedisAvailable, redisAvailability } from './redis.js';

export default function setup(): void {
  if (!redisAvailability.available) {
    if (process.env['CI']) {
      throw new Error(`integration tests need Redis in CI: ${redisAvailability.reason}`);
    }
    console.warn(`[ringcast] integration tests SKIPPED: ${redisAvailability.reason}`);
  } else if (!privateRedisAvailable) {
    console.warn(
      '[ringcast] REDIS_URL is set but redis-server is not on the PATH: ' +
        'tests that kill, pause or restart Redis are SKIPPED',
    );
  }
}
