// Global setup of the integration project: runs once, in the main vitest process.
import { privateRedisAvailable, redisAvailability } from './redis.js';
import { opensslBinary } from './redis-server.js';

export default function setup(): void {
  if (!redisAvailability.available) {
    if (process.env['CI']) {
      throw new Error(`integration tests need Redis in CI: ${redisAvailability.reason}`);
    }
    console.warn(`[ringcast] integration tests SKIPPED: ${redisAvailability.reason}`);
  } else if (privateRedisAvailable && opensslBinary() === undefined) {
    // The TLS tests make their certificates with openssl; .ci/run installs it.
    if (process.env['CI'])
      throw new Error('the TLS tests need openssl in CI: it is not on the PATH');
    console.warn('[ringcast] openssl is not on the PATH: the TLS tests are SKIPPED');
  } else if (!privateRedisAvailable) {
    console.warn(
      '[ringcast] REDIS_URL is set but redis-server is not on the PATH: ' +
        'tests that kill, pause or restart Redis are SKIPPED',
    );
  }
}
