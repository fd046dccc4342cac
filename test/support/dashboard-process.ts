import type { DashboardSnapshot } from '@ringcast/admin';
import { afterEach } from 'vitest';
import { ADMIN_CLI } from './admin-cli.js';
import { type NodeProcess, spawnNode } from './node-process.js';

export interface DashboardProcess extends NodeProcess {
  /** `http://127.0.0.1:<port>/`, as it printed it. */
  readonly url: string;
  /** GET `<url><path>` as JSON. */
  json<T = unknown>(path: string): Promise<T>;
  snapshot(): Promise<DashboardSnapshot>;
}

/**
 * Starts `ringcast dashboard --port 0 --json` (the built CLI) and resolves
 * once it printed where it listens.
 */
export async function spawnDashboard(options: {
  redis: string;
  namespace: string;
  args?: readonly string[];
}): Promise<DashboardProcess> {
  let started!: (url: string) => void;
  const listening = new Promise<string>((resolve) => {
    started = resolve;
  });
  const node = spawnNode(
    [
      ADMIN_CLI,
      'dashboard',
      '--port',
      '0',
      '--json',
      '--redis',
      options.redis,
      '--namespace',
      options.namespace,
      ...(options.args ?? []),
    ],
    {
      onLine: (line) => {
        if (line.startsWith('{')) started((JSON.parse(line) as { url: string }).url);
      },
    },
  );
  const url = await Promise.race([
    listening,
    node.exited.then((exit) => {
      throw new Error(
        `ringcast dashboard exited (${JSON.stringify(exit)}); output:\n${node.output()}`,
      );
    }),
  ]);
  const json = async <T>(path: string): Promise<T> => {
    const response = await fetch(new URL(path, url));
    if (!response.ok) throw new Error(`GET ${path}: ${response.status}`);
    return (await response.json()) as T;
  };
  return {
    ...node,
    url,
    json,
    snapshot: () => json<DashboardSnapshot>('/api/snapshot'),
  };
}

/**
 * Call at the top of a describe block: `spawn` starts a dashboard process
 * (see {@link spawnDashboard}) that is stopped (SIGTERM) after the test.
 */
export function useDashboards(): { spawn: typeof spawnDashboard } {
  const running: DashboardProcess[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((d) => d.kill('SIGTERM')));
  });
  return {
    async spawn(options) {
      const dashboard = await spawnDashboard(options);
      running.push(dashboard);
      return dashboard;
    },
  };
}

/** Reads server-sent events from `url`: each call to `next` resolves with the next event. */
export async function readEvents(url: string): Promise<{
  next(): Promise<{ event: string; data: unknown }>;
  close(): void;
}> {
  const controller = new AbortController();
  const response = await fetch(url, { signal: controller.signal });
  if (!response.ok || response.body === null) throw new Error(`GET ${url}: ${response.status}`);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  return {
    async next() {
      for (;;) {
        const end = buffer.indexOf('\n\n');
        if (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event !== undefined && data !== undefined) return { event, data: JSON.parse(data) };
          continue;
        }
        const { value, done } = await reader.read();
        if (done) throw new Error('the event stream ended');
        buffer += decoder.decode(value, { stream: true });
      }
    },
    close: () => controller.abort(),
  };
}
