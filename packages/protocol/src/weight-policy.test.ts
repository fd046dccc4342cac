import { describe, expect, it } from 'vitest';
import { MAX_WEIGHT } from './messages.js';
import { parsePolicyWeight } from './weight-policy.js';

describe('parsePolicyWeight', () => {
  it.each([
    ['1', 1],
    ['42', 42],
    [String(MAX_WEIGHT), MAX_WEIGHT],
  ])('takes %j as %d', (text, weight) => {
    expect(parsePolicyWeight(text)).toBe(weight);
  });

  it.each([
    null,
    '',
    '0',
    '-3',
    '1.5',
    '1e3',
    ' 3',
    '3 ',
    '07',
    '0x10',
    'abc',
    String(MAX_WEIGHT + 1),
    '99999999',
  ])('refuses %j', (text) => {
    expect(parsePolicyWeight(text)).toBeUndefined();
  });
});
