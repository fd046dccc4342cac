import { afterAll, afterEach, expect } from 'vitest';

type Closable = { close(): Promise<unknown> } | { quit(): Promise<unknown> };

interface Tracked {
  resource: Closable;
  closed: boolean;
  /** Created inside a test (checked after each test) or in a suite hook (checked after the file). */
  inTest: boolean;
  /** Where track() was called, to name the leak. */
  site: string;
}

const tracked = new Set<Tracked>();
const CLOSE_TIMEOUT_MS = 5_000;

/**
 * Register a dispatcher, worker or Redis client; the integration setup fails the test
 * if it is still open after the test (or, if created in beforeAll, after the file).
 */
export function track<T extends Closable>(resource: T): T {
  const entry: Tracked = {
    resource,
    closed: false,
    inTest: expect.getState().currentTestName !== undefined,
    site: (new Error().stack?.split('\n')[2] ?? '').trim().replace(/^at /, ''),
  };
  const target = resource as unknown as Record<string, unknown>;
  for (const method of ['close', 'quit', 'disconnect']) {
    const original = target[method];
    if (typeof original !== 'function') continue;
    target[method] = function (this: unknown, ...args: unknown[]) {
      entry.closed = true;
      return original.apply(this, args);
    };
  }
  tracked.add(entry);
  return resource;
}

function isClosed(entry: Tracked): boolean {
  // An ioredis client can also end on its own (retryStrategy returning null).
  return entry.closed || (entry.resource as { status?: unknown }).status === 'end';
}

function describeResource(entry: Tracked): string {
  return `resource tracked at ${entry.site || 'an unknown place'}`;
}

async function forceClose(resource: Closable): Promise<void> {
  const r = resource as Partial<{
    disconnect(): void;
    close(): Promise<unknown>;
    quit(): Promise<unknown>;
  }>;
  // disconnect() cannot hang on a dead server the way quit() can.
  if (typeof r.disconnect === 'function' && typeof r.quit === 'function') {
    r.disconnect();
    return;
  }
  const closing = typeof r.close === 'function' ? r.close() : r.quit?.();
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.resolve(closing).catch(() => undefined),
    new Promise((resolve) => {
      timer = setTimeout(resolve, CLOSE_TIMEOUT_MS);
    }),
  ]);
  clearTimeout(timer);
}

/**
 * Close everything still open (all tracked resources, or only those created inside a test)
 * and throw if anything was left open.
 */
export async function expectAllClosed(scope: 'test' | 'all' = 'all'): Promise<void> {
  const leaked: string[] = [];
  for (const entry of [...tracked]) {
    if (scope === 'test' && !entry.inTest) continue;
    tracked.delete(entry);
    if (isClosed(entry)) continue;
    leaked.push(describeResource(entry));
    await forceClose(entry.resource);
  }
  if (leaked.length > 0) {
    throw new Error(`left open (now force-closed):\n  ${leaked.join('\n  ')}`);
  }
}

/** Installs the leak guard; imported once by the integration project's setup file. */
export function installLeakGuard(): void {
  afterEach(() => expectAllClosed('test'));
  afterAll(() => expectAllClosed('all'));
}
