import { describe, expect, it } from 'vitest';
import { isToken } from './token.js';

describe('isToken', () => {
  it('accepts exactly the id, a dot and the attempt number', () => {
    expect(isToken('abc.1', 'abc', 1)).toBe(true);
    expect(isToken('abc.10', 'abc', 10)).toBe(true);
    expect(isToken('a.b.c.1000000', 'a.b.c', 1_000_000)).toBe(true);
  });

  it.each([
    ['another attempt', 'abc.2', 'abc', 1],
    ['another id', 'abd.1', 'abc', 1],
    ['a longer id', 'abcd.1', 'abc', 1],
    ['a leading zero', 'abc.01', 'abc', 1],
    ['no attempt', 'abc.', 'abc', 1],
    ['no dot', 'abc1', 'abc', 1],
    ['a sign', 'abc.+1', 'abc', 1],
    ['a fraction', 'abc.1.0', 'abc', 1],
    ['trailing text', 'abc.1x', 'abc', 1],
    ['only the id', 'abc', 'abc', 1],
    ['empty', '', 'abc', 1],
  ])('rejects %s', (_why, token, id, attempt) => {
    expect(isToken(token, id, attempt)).toBe(false);
  });

  it('agrees with building the token, for many attempts', () => {
    for (let attempt = 1; attempt < 2000; attempt++) {
      expect(isToken(`t-9.${attempt}`, 't-9', attempt)).toBe(true);
      expect(isToken(`t-9.${attempt}`, 't-9', attempt + 1)).toBe(false);
    }
  });
});
