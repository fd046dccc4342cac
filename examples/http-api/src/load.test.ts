import { describe, expect, it } from 'vitest';
import { classify, type LoadSummary, passed } from './load.js';
import type { PlannedRequest } from './load-mix.js';

const thumbnail: PlannedRequest = {
  route: 'POST /thumbnails',
  method: 'POST',
  path: '/thumbnails',
  body: '{}',
  expect: [200],
  intent: 'ok',
};
const badInput: PlannedRequest = { ...thumbnail, expect: [400], intent: 'bad input' };
const error = (code: string) => ({ error: { code, message: 'm' } });

describe('how a load request ended', () => {
  it.each([
    ['the expected success', thumbnail, 200, { etag: 'x' }, 'ok'],
    ['the expected failure', badInput, 400, error('INVALID_INPUT'), 'intended'],
    ['a 503 with its documented code', thumbnail, 503, error('NO_WORKERS'), 'transient'],
    ['a 504 with its documented code', thumbnail, 504, error('TIMEOUT'), 'transient'],
    ['a 503 with the status of another code', thumbnail, 503, error('TIMEOUT'), 'unexpected'],
    ['a 502 for a request meant to succeed', thumbnail, 502, error('HANDLER_ERROR'), 'unexpected'],
    ['a 200 for a request meant to fail', badInput, 200, { etag: 'x' }, 'unexpected'],
    ['a 500', thumbnail, 500, error('INTERNAL'), 'unexpected'],
    ['the expected status without a JSON body', thumbnail, 200, undefined, 'unexpected'],
    ['no answer at all', thumbnail, 0, undefined, 'unexpected'],
  ] as const)('%s is %s', (_what, request, status, body, outcome) => {
    expect(classify(request, { status, body })).toBe(outcome);
  });
});

describe('whether a load run passed', () => {
  const clean: LoadSummary = {
    durationMs: 1000,
    sent: 10,
    skipped: 0,
    outcomes: { ok: 8, intended: 2, transient: 0, unexpected: 0 },
    intended: { 'bad input': 2 },
    transient: {},
    unexpected: [],
    servedBy: { 'worker-1': 8 },
    routes: [],
    p50Ms: 1,
    p99Ms: 2,
    reports: { submitted: 1, succeeded: 1, failed: 0, unfinished: 0 },
  };

  it('passes with requests ok or failed as intended and every report built', () => {
    expect(passed(clean)).toBe(true);
  });

  it.each([
    ['an unexpected outcome', { outcomes: { ...clean.outcomes, unexpected: 1 } }],
    ['a transient error', { outcomes: { ...clean.outcomes, transient: 1 } }],
    ['a failed report', { reports: { ...clean.reports, succeeded: 0, failed: 1 } }],
    ['an unfinished report', { reports: { ...clean.reports, succeeded: 0, unfinished: 1 } }],
  ])('fails with %s', (_what, change) => {
    expect(passed({ ...clean, ...change })).toBe(false);
  });
});
