import { describe, expect, it } from 'vitest';
import type { ProtocolError } from './errors.js';
import {
  isValidTraceparent,
  isValidTracestate,
  MAX_TRACESTATE,
  readTraceContext,
} from './trace-context.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';
const VALID = `00-${TRACE_ID}-${SPAN_ID}-01`;

/** A valid two-member tracestate of `length` characters (values of at most 256). */
function atLength(length: number): string {
  const first = `a=${'v'.repeat(255)}`;
  return `${first},b=${'v'.repeat(length - first.length - 3)}`;
}

describe('isValidTraceparent', () => {
  it.each([
    ['sampled', VALID],
    ['not sampled', `00-${TRACE_ID}-${SPAN_ID}-00`],
    ['other flag bits', `00-${TRACE_ID}-${SPAN_ID}-ff`],
  ])('accepts %s', (_, value) => {
    expect(isValidTraceparent(value)).toBe(true);
  });

  it.each([
    ['an all-zero trace id', `00-${'0'.repeat(32)}-${SPAN_ID}-01`],
    ['an all-zero parent id', `00-${TRACE_ID}-${'0'.repeat(16)}-01`],
    ['another version', `01-${TRACE_ID}-${SPAN_ID}-01`],
    ['version ff', `ff-${TRACE_ID}-${SPAN_ID}-01`],
    ['uppercase hex', `00-${TRACE_ID.toUpperCase()}-${SPAN_ID}-01`],
    ['a short trace id', `00-${TRACE_ID.slice(1)}-${SPAN_ID}-01`],
    ['a long parent id', `00-${TRACE_ID}-${SPAN_ID}0-01`],
    ['a one-digit flag', `00-${TRACE_ID}-${SPAN_ID}-1`],
    ['trailing data', `${VALID}-extra`],
    ['a trailing newline', `${VALID}\n`],
    ['non-hex', `00-${TRACE_ID.slice(0, 31)}g-${SPAN_ID}-01`],
    ['underscores', VALID.replaceAll('-', '_')],
    ['the empty string', ''],
    ['a number', 1],
    ['null', null],
  ])('refuses %s', (_, value) => {
    expect(isValidTraceparent(value)).toBe(false);
  });
});

describe('isValidTracestate', () => {
  it.each([
    ['one member', 'rojo=00f067aa0ba902b7'],
    ['several members', 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE'],
    ['spaces and tabs around commas', 'rojo=1 ,\tcongo=2'],
    ['empty members', 'rojo=1,,congo=2,'],
    ['a multi-tenant key', 'fw529a3039@dt=abc'],
    ['keys with digits and _-*/', 'a0_-*/=x'],
    ['a value with spaces inside', 'k=a b'],
    ['a value with quotes and backslashes', 'k="a\\b"'],
    ['32 members', Array.from({ length: 32 }, (_, i) => `k${i}=v`).join(',')],
    ['exactly the limit', atLength(MAX_TRACESTATE)],
  ])('accepts %s', (_, value) => {
    expect(isValidTracestate(value)).toBe(true);
  });

  it.each([
    ['one character over the limit', atLength(MAX_TRACESTATE + 1)],
    ['a value over 256 characters', `k=${'v'.repeat(257)}`],
    ['33 members', Array.from({ length: 33 }, (_, i) => `k${i}=v`).join(',')],
    ['a duplicate key', 'rojo=1,rojo=2'],
    ['an uppercase key', 'Rojo=1'],
    ['a key starting with a digit (not multi-tenant)', '1abc=1'],
    ['a system id too long', `t@${'a'.repeat(15)}=1`],
    ['no equals sign', 'rojo'],
    ['an empty value', 'rojo='],
    ['a tab inside a value', 'rojo=a\tb'],
    ['an equals sign in the value', 'rojo=a=b'],
    ['a non-ASCII value', 'rojo=é'],
    ['a control character', 'rojo=a\u0001b'],
    ['only commas', ',,'],
    ['the empty string', ''],
    ['a number', 7],
  ])('refuses %s', (_, value) => {
    expect(isValidTracestate(value)).toBe(false);
  });
});

describe('readTraceContext', () => {
  const read = (traceparent: unknown, tracestate: unknown) => {
    const dropped: ProtocolError[] = [];
    const trace = readTraceContext(traceparent, tracestate, (e) => dropped.push(e));
    return { trace, dropped: dropped.map((e) => e.message) };
  };

  it('keeps a valid traceparent and tracestate, and drops nothing', () => {
    expect(read(VALID, 'rojo=1')).toEqual({
      trace: { traceparent: VALID, tracestate: 'rojo=1' },
      dropped: [],
    });
    expect(read(VALID, undefined)).toEqual({ trace: { traceparent: VALID }, dropped: [] });
    expect(read(undefined, undefined)).toEqual({ trace: undefined, dropped: [] });
  });

  it('drops an invalid traceparent, and the tracestate with it', () => {
    const { trace, dropped } = read('00-bad', 'rojo=1');
    expect(trace).toBeUndefined();
    expect(dropped).toEqual([expect.stringContaining('"traceparent"')]);
  });

  it('keeps the traceparent when only the tracestate is invalid', () => {
    const { trace, dropped } = read(VALID, 'Bad Key=1');
    expect(trace).toEqual({ traceparent: VALID });
    expect(dropped).toEqual([expect.stringContaining('"tracestate"')]);
  });

  it('drops a tracestate that came without a traceparent', () => {
    const { trace, dropped } = read(undefined, 'rojo=1');
    expect(trace).toBeUndefined();
    expect(dropped).toEqual([expect.stringContaining('without a "traceparent"')]);
  });
});
