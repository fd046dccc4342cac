import { ID_PATTERN } from '@ringcast/protocol';
import { describe, expect, it } from 'vitest';
import { newTaskId } from './task-id.js';

describe('newTaskId', () => {
  it('makes 21-character ids that start with a letter or a digit, never an option-like "-"', () => {
    // With nanoid's alphabet, one id in 32 would start with '-' or '_': 10,000 leave no chance.
    const ids = Array.from({ length: 10_000 }, newTaskId);
    expect(ids.filter((id) => !/^[A-Za-z0-9]/.test(id))).toEqual([]);
    expect(ids.filter((id) => id.length !== 21 || !ID_PATTERN.test(id))).toEqual([]);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
