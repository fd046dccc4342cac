/**
 * The dashboard in a real browser: headless chromium (playwright-core driving
 * the system's browser) on `ringcast dashboard`, against a private Redis with
 * live `ringcast-worker` processes at the default heartbeat timings and a
 * dispatcher sending tasks. A worker that joins and one killed with SIGKILL
 * show on the page within two seconds, measured from the spawn or the kill to
 * the page showing it; `ringcast reweight` shows; the charts have data. It
 * saves a screenshot to .reports/dashboard.png. With RINGCAST_UPDATE_SCREENSHOT=1
 * it lets the load run until the charts hold a minute, and writes the one the
 * README shows, docs/dashboard.png (a committed file, so not on every run).
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createDispatcher, type Dispatcher } from '@ringcast/dispatcher';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runRingcast } from '../support/admin-cli.js';
import { type Browser, browserTestsRun, launchChromium } from '../support/chromium.js';
import { type DashboardProcess, spawnDashboard } from '../support/dashboard-process.js';
import { redisAvailability, uniqueNamespace, useRedis } from '../support/redis.js';
import { track } from '../support/track.js';
import { spawnWorker, type WorkerProcess } from '../support/workers.js';
import { eventually } from '../worker/fake-dispatcher.js';

/** What the issue promises: a worker joining or dying shows within two seconds. */
const SHOWN_WITHIN_MS = 2_000;
/** How long a wait on the page may run before it fails the test outright. */
const PAGE_WAIT_MS = 10_000;
const ROOT = new URL('../../', import.meta.url);

// Default heartbeat timings: the two-second promise is made for them.
const TIMINGS = { heartbeatIntervalMs: 1_000, heartbeatTtlMs: 3_000 };
// biome-ignore lint/suspicious/noUndeclaredEnvVars: read by vitest, which turbo does not run
const UPDATE_SCREENSHOT = process.env['RINGCAST_UPDATE_SCREENSHOT'] === '1';
/** Samples the README's screenshot waits for: a minute of charts. */
const SCREENSHOT_SAMPLES = 60;

describe.skipIf(!redisAvailability.available || !browserTestsRun)(
  'the dashboard in chromium',
  () => {
    const redis = useRedis();
    const namespace = uniqueNamespace();
    const workers: WorkerProcess[] = [];
    let dispatcher: Dispatcher;
    let dashboard: DashboardProcess;
    let browser: Browser;
    let load: NodeJS.Timeout | undefined;

    beforeAll(async () => {
      const spawned = Promise.all(
        [
          { id: 'w-alpha', weight: 2 },
          { id: 'w-bravo', weight: 2 },
          { id: 'w-charlie', weight: 1 },
        ].map((w) => spawnWorker({ url: redis.url, namespace, ...w, ...TIMINGS })),
      );
      // The browser starts while the workers do.
      [browser] = await Promise.all([launchChromium(), spawned.then((w) => workers.push(...w))]);
      dispatcher = track(createDispatcher({ redis: redis.url, namespace, logger: false }));
      await dispatcher.start();
      await eventually(() => dispatcher.workers().length === 3);
      dashboard = await spawnDashboard({ redis: redis.url, namespace });
      let n = 0;
      const ignore = () => {};
      // A steady load, a little of it failing or durable, so every panel has something to show.
      load = setInterval(() => {
        for (let i = 0; i < 10; i++) dispatcher.dispatch('echo', { n: n++ }).catch(ignore);
        dispatcher.dispatch('sleep', { ms: 2 + (n % 15) }).catch(ignore);
        if (n % 100 === 0) dispatcher.dispatch('fail', { code: 'E_DEMO' }).catch(ignore);
        if (n % 50 === 0) dispatcher.submit('echo', { n }, { delayMs: 60_000 }).catch(ignore);
      }, 25);
    });

    afterAll(async () => {
      clearInterval(load);
      await browser?.close();
      await dashboard?.kill('SIGTERM');
      await dispatcher?.close();
      await Promise.all(workers.map((w) => w.kill()));
    });

    /** The attribute `name` of the first element `selector` finds; null while there is none. */
    async function attribute(selector: string, name: string): Promise<string | null> {
      const found = browser.page.locator(selector);
      return (await found.count()) === 0 ? null : found.first().getAttribute(name);
    }

    async function text(selector: string): Promise<string | null> {
      const found = browser.page.locator(selector);
      return (await found.count()) === 0 ? null : found.first().textContent();
    }

    const stateOf = (id: string) => attribute(`#workers tr[data-worker="${id}"]`, 'data-state');

    /** Polls the page until `check` holds; how long that took, from `since`. */
    async function shown(
      since: number,
      check: () => Promise<boolean>,
      what: string,
    ): Promise<number> {
      await eventually(check, PAGE_WAIT_MS, what);
      return Date.now() - since;
    }

    it(
      'lists the live workers, shows a joining and a killed one within 2 s, follows a reweight, and charts the load',
      async () => {
        const { page } = browser;
        const errors: string[] = [];
        page.on('pageerror', (error) => errors.push(error.message));
        page.on('console', (message) => {
          if (message.type() === 'error') errors.push(message.text());
        });
        await page.goto(dashboard.url);

        // The workers are listed, live.
        const listed = ['w-alpha', 'w-bravo', 'w-charlie'];
        await shown(
          Date.now(),
          async () => (await Promise.all(listed.map(stateOf))).every((state) => state === 'live'),
          'the three workers listed live',
        );
        expect(await page.locator('#namespace').textContent()).toBe(namespace);

        // A worker started now appears, live, within 2 s of its spawn.
        const spawnedAt = Date.now();
        const joining = spawnWorker({
          url: redis.url,
          namespace,
          id: 'w-delta',
          weight: 2,
          waitReady: false,
          ...TIMINGS,
        });
        workers.push(await joining);
        const joinMs = await shown(
          spawnedAt,
          async () => (await stateOf('w-delta')) === 'live',
          'the joining worker shown live',
        );

        // A worker killed with SIGKILL shows as not live within 2 s of the kill.
        const bravo = workers.find((w) => w.id === 'w-bravo')!;
        const killedAt = Date.now();
        bravo.child.kill('SIGKILL');
        const killMs = await shown(
          killedAt,
          async () => ['missing', 'gone'].includes((await stateOf('w-bravo')) ?? ''),
          'the killed worker shown not live',
        );
        await bravo.exited;
        console.info(`[dashboard.browser] join shown after ${joinMs} ms, kill after ${killMs} ms`);
        expect(joinMs).toBeLessThanOrEqual(SHOWN_WITHIN_MS);
        expect(killMs).toBeLessThanOrEqual(SHOWN_WITHIN_MS);

        // `ringcast reweight` shows: the weight the worker runs with, marked as the operator's.
        const reweightAt = Date.now();
        const reweight = runRingcast([
          'reweight',
          'w-charlie',
          '5',
          '--redis',
          redis.url,
          '--namespace',
          namespace,
        ]);
        const reweightMs = await shown(
          reweightAt,
          async () =>
            (await text('#workers tr[data-worker="w-charlie"] [data-field="weight"]')) === '5*',
          'the new weight shown as the operator’s',
        );
        expect(await reweight).toMatchObject({ code: 0, stderr: '' });

        // The charts have data: several samples, the throughput above zero.
        for (const chart of ['#chart-throughput svg', '#chart-execution svg']) {
          await shown(
            Date.now(),
            async () =>
              Number(await attribute(chart, 'data-points')) >= 6 &&
              Number(await attribute(chart, 'data-max')) > 0,
            `${chart} charting the load`,
          );
        }
        // The killed worker's heartbeat has expired by now or soon: gone, greyed.
        await shown(Date.now(), async () => (await stateOf('w-bravo')) === 'gone', 'w-bravo gone');
        expect(await page.locator('#durable').isVisible()).toBe(true);

        console.info(`[dashboard.browser] reweight shown after ${reweightMs} ms`);
        expect(errors).toEqual([]);

        if (UPDATE_SCREENSHOT) {
          await eventually(
            async () =>
              // Two values a sample: tasks/s and errors/s.
              Number(await attribute('#chart-throughput svg', 'data-points')) >=
              2 * SCREENSHOT_SAMPLES,
            2 * SCREENSHOT_SAMPLES * 1_000,
            'a minute of samples',
          );
        }
        mkdirSync(new URL('.reports/', ROOT), { recursive: true });
        const file = UPDATE_SCREENSHOT ? 'docs/dashboard.png' : '.reports/dashboard.png';
        await page.screenshot({ path: fileURLToPath(new URL(file, ROOT)), fullPage: true });
      },
      UPDATE_SCREENSHOT ? 4 * SCREENSHOT_SAMPLES * 1_000 : undefined,
    );
  },
);
