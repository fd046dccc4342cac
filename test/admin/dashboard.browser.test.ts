/**
 * The dashboard in a real browser, on the example application as its live
 * system: headless chromium (playwright-core driving the system's browser) on
 * `ringcast dashboard`, watching examples/http-api's `startSystem()` (a
 * private redis-server, `ringcast-worker` processes running the example's
 * handlers, the HTTP API with its dispatcher inside) under the example's own
 * load script. A worker added with `system.addWorker()` shows on the page
 * within two seconds of its join (its hello on the control channel: a new
 * process's start-up before it is no part of the dashboard's delay), and one
 * killed with `system.killWorker()` (SIGKILL) within two seconds of the kill;
 * `ringcast reweight` shows;
 * the charts have data, end-to-end latency among it; the durable backlog of
 * the API's `/reports` shows. It saves a screenshot to .reports/dashboard.png.
 * With RINGCAST_UPDATE_SCREENSHOT=1 it lets the load run until the charts
 * hold a minute, and writes the one the README shows, docs/dashboard.png (a
 * committed file, so not on every run).
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runLoad, type System, startSystem } from '@ringcast/example-http-api';
import { decode, names } from '@ringcast/protocol';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runRingcast } from '../support/admin-cli.js';
import { type Browser, browserTestsRun, launchChromium } from '../support/chromium.js';
import { type DashboardProcess, spawnDashboard } from '../support/dashboard-process.js';
import { privateRedisAvailable } from '../support/redis.js';
import { track } from '../support/track.js';
import { eventually } from '../worker/fake-dispatcher.js';

/** What the issue promises: a worker joining or dying shows within two seconds. */
const SHOWN_WITHIN_MS = 2_000;
/** How long a wait on the page may run before it fails the test outright. */
const PAGE_WAIT_MS = 10_000;
const ROOT = new URL('../../', import.meta.url);
/** Requests a second from the example's load script: every panel gets data, the machine keeps room. */
const LOAD_RATE = 40;
// biome-ignore lint/suspicious/noUndeclaredEnvVars: read by vitest, which turbo does not run
const UPDATE_SCREENSHOT = process.env['RINGCAST_UPDATE_SCREENSHOT'] === '1';
/** Samples the README's screenshot waits for: a minute of charts. */
const SCREENSHOT_SAMPLES = 60;

describe.skipIf(!privateRedisAvailable || !browserTestsRun)(
  'the dashboard in chromium, on the example application',
  () => {
    let system: System;
    let dashboard: DashboardProcess;
    let browser: Browser;
    const stopLoad = new AbortController();
    let load: Promise<unknown> = Promise.resolve();

    beforeAll(async () => {
      // The browser starts while the system does.
      [browser, system] = await Promise.all([
        launchChromium(),
        startSystem({
          workers: [
            { id: 'w-alpha', weight: 2 },
            { id: 'w-bravo', weight: 2 },
            { id: 'w-charlie', weight: 1 },
          ],
        }),
      ]);
      dashboard = await spawnDashboard({ redis: system.redisUrl, namespace: system.namespace });
      // The example's own load: thumbnails, mail (some bounced), reports submitted and read, bad input.
      load = runLoad({
        apiUrl: system.apiUrl,
        durationMs: 60 * 60_000,
        rate: LOAD_RATE,
        signal: stopLoad.signal,
      });
    });

    afterAll(async () => {
      stopLoad.abort();
      await load;
      await browser?.close();
      await dashboard?.kill('SIGTERM');
      await system?.stop();
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

    /** When each worker's hello (its join) was heard on the control channel, by id. */
    async function listenForHellos(): Promise<{
      heard: Map<string, number>;
      close(): Promise<void>;
    }> {
      const heard = new Map<string, number>();
      const subscriber = track(new Redis(system.redisUrl));
      subscriber.on('message', (_channel: string, frame: string) => {
        const at = Date.now();
        const decoded = decode(frame);
        if (!decoded.ok) return;
        for (const message of decoded.messages) {
          if (message.kind === 'hello' && !heard.has(message.worker.id)) {
            heard.set(message.worker.id, at);
          }
        }
      });
      await subscriber.subscribe(names(system.namespace).controlChannel);
      return { heard, close: async () => void (await subscriber.quit()) };
    }

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
        expect(await page.locator('#namespace').textContent()).toBe(system.namespace);

        // A worker the system adds now appears, live, within 2 s of its join.
        const hellos = await listenForHellos();
        const joining = system.addWorker({ id: 'w-delta', weight: 2 });
        await shown(
          Date.now(),
          async () => (await stateOf('w-delta')) === 'live',
          'the joining worker shown live',
        );
        const shownAt = Date.now();
        await joining;
        await hellos.close();
        const joinMs = shownAt - (hellos.heard.get('w-delta') ?? Number.NaN);

        // A worker killed with SIGKILL shows as not live within 2 s of the kill.
        const killedAt = Date.now();
        const killed = system.killWorker('w-bravo');
        const killMs = await shown(
          killedAt,
          async () => ['missing', 'gone'].includes((await stateOf('w-bravo')) ?? ''),
          'the killed worker shown not live',
        );
        await killed;
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
          system.redisUrl,
          '--namespace',
          system.namespace,
        ]);
        const reweightMs = await shown(
          reweightAt,
          async () =>
            (await text('#workers tr[data-worker="w-charlie"] [data-field="weight"]')) === '5*',
          'the new weight shown as the operator’s',
        );
        expect(await reweight).toMatchObject({ code: 0, stderr: '' });

        // The charts have data: several samples, above zero; the latency chart has end to end.
        for (const chart of ['#chart-throughput svg', '#chart-latency svg']) {
          await shown(
            Date.now(),
            async () =>
              Number(await attribute(chart, 'data-points')) >= 6 &&
              Number(await attribute(chart, 'data-max')) > 0,
            `${chart} charting the load`,
          );
        }
        for (const series of ['p50', 'p99']) {
          const line = `#chart-latency path.series.${series}:not(.execution)`;
          const execution = `#chart-latency path.series.${series}.execution`;
          await shown(
            Date.now(),
            async () =>
              (await attribute(line, 'd')) !== null && (await attribute(execution, 'd')) !== null,
            `end-to-end and execution ${series} charted`,
          );
        }
        // The handlers table has both, per handler.
        const thumbnails = '#handlers tr[data-handler="thumbnail.render"]';
        await shown(
          Date.now(),
          async () =>
            /\d/.test((await text(`${thumbnails} [data-field="latency-p99"]`)) ?? '') &&
            /\d/.test((await text(`${thumbnails} [data-field="execution-p99"]`)) ?? ''),
          'the thumbnails’ end-to-end and execution p99 in the handlers table',
        );
        // The killed worker's heartbeat has expired by now or soon: gone, greyed.
        await shown(Date.now(), async () => (await stateOf('w-bravo')) === 'gone', 'w-bravo gone');
        // The durable backlog of the API's /reports.
        await shown(
          Date.now(),
          async () => page.locator('#durable').isVisible(),
          'the durable backlog panel',
        );
        expect(await page.locator('#durable [data-backlog="active"]').count()).toBe(1);

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
