import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';

/** The browser the tests drive: env CHROMIUM_PATH, else Debian's chromium package. */
// biome-ignore lint/suspicious/noUndeclaredEnvVars: read by vitest, which turbo does not run
export const CHROMIUM_PATH = process.env['CHROMIUM_PATH'] || '/usr/bin/chromium';

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Whether the browser is there; computed at import. */
export const chromiumAvailability = executable(CHROMIUM_PATH)
  ? { available: true, reason: `chromium at ${CHROMIUM_PATH}` }
  : {
      available: false,
      reason:
        `no chromium at ${CHROMIUM_PATH} (install it with \`sudo apt-get install -y chromium\`, ` +
        'or set CHROMIUM_PATH)',
    };

/**
 * Whether browser tests run: where there is a browser, and always in CI,
 * where a missing one must fail the test (launchChromium throws), not skip it.
 */
export const browserTestsRun = chromiumAvailability.available || Boolean(process.env['CI']);

if (!browserTestsRun) {
  console.warn(`[ringcast] browser tests SKIPPED: ${chromiumAvailability.reason}`);
}

export interface Browser {
  readonly page: Page;
  readonly context: BrowserContext;
  /** Closes the browser and removes its profile. */
  close(): Promise<void>;
}

/** Headless chromium with a fresh profile, nothing fetched or synced on its own. */
export async function launchChromium(viewport = { width: 1440, height: 1000 }): Promise<Browser> {
  if (!chromiumAvailability.available) throw new Error(chromiumAvailability.reason);
  const profile = mkdtempSync(join(tmpdir(), 'ringcast-chromium-'));
  try {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      viewport,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    const page = context.pages()[0] ?? (await context.newPage());
    return {
      page,
      context,
      async close() {
        await context.close();
        rmSync(profile, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(profile, { recursive: true, force: true });
    throw error;
  }
}
