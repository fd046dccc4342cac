/**
 * The dashboard's HTTP routes on a real node:http server with a stand-in
 * monitor: what each path answers, the event stream's framing, and that
 * nothing but GET and HEAD is served.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Assets, INDEX } from './assets.js';
import { EventStream, frame } from './event-stream.js';
import { fleetMetrics } from './fleet-metrics.js';
import { createDashboardServer } from './server.js';
import { dashboardSnapshot } from './snapshot.js';
import type { DashboardHistory } from './wire.js';

const snapshot = dashboardSnapshot({
  namespace: 'ns',
  redis: { url: 'redis://***@h:1', up: true, error: null, downSince: null },
  view: undefined,
  workers: [],
  durableSeen: false,
});
const history: DashboardHistory = {
  intervalMs: 1_000,
  spanMs: 900_000,
  samples: [{ at: 1, tasksPerSecond: 5, errorsPerSecond: 0, executionP50Ms: 1, executionP99Ms: 2 }],
};

describe('createDashboardServer', () => {
  const root = mkdtempSync(join(tmpdir(), 'ringcast-server-'));
  const events = new EventStream();
  let server: Server;
  let base: string;

  beforeAll(async () => {
    mkdirSync(join(root, 'dashboard/page'), { recursive: true });
    writeFileSync(join(root, INDEX), '<!doctype html><title>t</title>\n');
    writeFileSync(join(root, 'dashboard/page/main.js'), 'export {};\n');
    server = createDashboardServer({
      snapshot: () => snapshot,
      history: () => history,
      events,
      metrics: fleetMetrics(() => snapshot),
      assets: new Assets(`${root}/`),
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    events.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    rmSync(root, { recursive: true, force: true });
  });

  it('serves the page at / with a policy that allows nothing from elsewhere', async () => {
    const response = await fetch(`${base}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const policy = response.headers.get('content-security-policy');
    expect(policy).toContain("default-src 'none'");
    expect(policy).toContain("script-src 'self'");
    expect(await response.text()).toContain('<title>t</title>');
  });

  it('serves the page’s assets under /assets/, and nothing else of the package', async () => {
    const script = await fetch(`${base}/assets/dashboard/page/main.js`);
    expect([script.status, script.headers.get('content-type')]).toEqual([
      200,
      'text/javascript; charset=utf-8',
    ]);
    expect(await script.text()).toBe('export {};\n');
    for (const path of [
      '/assets/dashboard/page/absent.js',
      '/assets/dashboard/server.js',
      '/assets/dashboard/page/%2e%2e/%2e%2e/package.json',
      '/assets/%E0%A4%A',
      '/nope',
      '/api/nope',
    ]) {
      const response = await fetch(`${base}${path}`);
      expect([path, response.status]).toEqual([path, 404]);
      await response.body?.cancel();
    }
  });

  it('answers the JSON endpoints, a query string notwithstanding', async () => {
    const s = await fetch(`${base}/api/snapshot?x=1`);
    expect(s.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(s.headers.get('cache-control')).toBe('no-store');
    expect(await s.json()).toEqual(snapshot);
    expect(await (await fetch(`${base}/api/history`)).json()).toEqual(history);
  });

  it('serves the metrics as Prometheus text', async () => {
    const response = await fetch(`${base}/metrics`);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await response.text()).toContain('ringcast_fleet_workers{state="live"} 0');
  });

  it('streams events: the latest snapshot at once, then each event sent', async () => {
    const controller = new AbortController();
    const response = await fetch(`${base}/events`, { signal: controller.signal });
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const readUntil = async (part: string) => {
      while (!text.includes(part)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`the stream ended before ${part}`);
        text += decoder.decode(value, { stream: true });
      }
    };
    await readUntil(frame('snapshot', snapshot));
    expect(text.startsWith('retry: 1000\n\n')).toBe(true);
    await expect.poll(() => events.size).toBe(1);
    events.send('sample', history.samples[0]);
    await readUntil(frame('sample', history.samples[0]));
    controller.abort();
    await expect.poll(() => events.size).toBe(0);
  });

  it('refuses every method but GET and HEAD', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const response = await fetch(`${base}/api/snapshot`, { method });
      expect([method, response.status, response.headers.get('allow')]).toEqual([
        method,
        405,
        'GET, HEAD',
      ]);
      await response.body?.cancel();
    }
    const head = await fetch(`${base}/api/snapshot`, { method: 'HEAD' });
    expect([head.status, await head.text()]).toEqual([200, '']);
  });
});

describe('frame', () => {
  it('is one event with its JSON on one data line, whatever the data holds', () => {
    expect(frame('snapshot', { text: 'two\nlines' })).toBe(
      'event: snapshot\ndata: {"text":"two\\nlines"}\n\n',
    );
  });
});
