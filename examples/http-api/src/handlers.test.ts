// The handlers called directly, as the worker calls them.
import type { HandlerContext } from '@ringcast/worker';
import { describe, expect, it } from 'vitest';
import handlers from './handlers.js';

function ctx(attempt = 1, taskId = 't-1'): HandlerContext {
  return {
    taskId,
    attempt,
    deadline: Date.now() + 10_000,
    signal: new AbortController().signal,
    workerId: 'w-test',
  };
}

const run = (name: string, payload: unknown, context = ctx()) => handlers[name]!(payload, context);

describe('the example handlers', () => {
  it('exports the three handlers by name, and nothing else', () => {
    expect(Object.keys(handlers).sort()).toEqual(['mail.send', 'report.build', 'thumbnail.render']);
  });

  it('thumbnail.render gives the same etag and size for the same request', async () => {
    const a = await run('thumbnail.render', { image: 'photos/a.jpg', width: 64 });
    const b = await run('thumbnail.render', { image: 'photos/a.jpg', width: 64 });
    const c = await run('thumbnail.render', { image: 'photos/a.jpg', width: 128 });
    expect(a).toMatchObject({ width: 64, height: 64, format: 'webp', worker: 'w-test' });
    expect(b).toMatchObject({
      etag: (a as { etag: string }).etag,
      bytes: (a as { bytes: number }).bytes,
    });
    expect((c as { etag: string }).etag).not.toBe((a as { etag: string }).etag);
  });

  it('mail.send keeps one message id per task, whatever the attempt', async () => {
    const first = await run('mail.send', { to: 'a@example.com', subject: 'x' }, ctx(1, 'task-9'));
    const again = await run('mail.send', { to: 'a@example.com', subject: 'x' }, ctx(2, 'task-9'));
    expect((again as { messageId: string }).messageId).toBe(
      (first as { messageId: string }).messageId,
    );
  });

  it('mail.send defers a greylisted recipient once, retryably', async () => {
    const payload = { to: 'a@greylist.example', subject: 'x' };
    await expect(run('mail.send', payload, ctx(1))).rejects.toMatchObject({
      code: 'GREYLISTED',
      retryable: true,
    });
    await expect(run('mail.send', payload, ctx(2))).resolves.toMatchObject({ attempt: 2 });
  });

  it('mail.send fails for good for a .invalid recipient', async () => {
    await expect(
      run('mail.send', { to: 'a@nowhere.invalid', subject: 'x' }, ctx(3)),
    ).rejects.toMatchObject({ code: 'MAILBOX_UNAVAILABLE', retryable: false });
  });

  it('report.build sums the same days to the same total', async () => {
    const a = await run('report.build', { kind: 'sales', days: 3 });
    const b = await run('report.build', { kind: 'sales', days: 3 });
    expect(a).toEqual(b);
    expect(a).toMatchObject({ kind: 'sales', days: 3 });
    const { total, average, peakDay } = a as { total: number; average: number; peakDay: number };
    expect(average).toBe(Math.round(total / 3));
    expect(peakDay).toBeGreaterThanOrEqual(0);
    expect(peakDay).toBeLessThan(3);
  });

  it('refuses a payload the API would have refused, without retrying', async () => {
    const refused = await Promise.resolve(run('thumbnail.render', { image: 'a.jpg' })).catch(
      (error: unknown) => error as { name: string; retryable?: boolean },
    );
    expect(refused).toMatchObject({ name: 'InvalidInput' });
    expect((refused as { retryable?: boolean }).retryable).toBeUndefined();
  });

  it('stops waiting when the task is cancelled', async () => {
    const aborter = new AbortController();
    const running = run(
      'report.build',
      { kind: 'sales', days: 90 },
      {
        ...ctx(),
        signal: aborter.signal,
      },
    );
    aborter.abort();
    await expect(running).rejects.toMatchObject({ name: 'AbortError' });
  });
});
