import { MAX_WEIGHT } from '@ringcast/protocol';
import { describe, expect, it } from 'vitest';
import { heartbeatAge, parsePolicyWeight } from './cluster-view.js';

describe('parsePolicyWeight', () => {
  it.each([
    ['1', 1],
    ['25', 25],
    [String(MAX_WEIGHT), MAX_WEIGHT],
    [undefined, undefined],
    ['0', undefined],
    ['-3', undefined],
    ['07', undefined],
    ['1.5', undefined],
    ['1e3', undefined],
    [' 4', undefined],
    [String(MAX_WEIGHT + 1), undefined],
  ])('reads %j as %j', (stored, weight) => {
    expect(parsePolicyWeight(stored)).toBe(weight);
  });
});

describe('heartbeatAge', () => {
  it.each([
    [3_000, 3_000, 0],
    [3_000, 2_400, 600],
    [3_000, 3_100, 0],
    [0, 2_000, undefined],
    [3_000, -1, undefined],
    [3_000, -2, undefined],
  ])('a TTL of %i ms with %i ms left is %j ms old', (ttl, pttl, age) => {
    expect(heartbeatAge(ttl, pttl)).toBe(age);
  });
});
