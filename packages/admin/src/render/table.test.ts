import { describe, expect, it } from 'vitest';
import { renderTable } from './table.js';

describe('renderTable', () => {
  it('pads text left and figures right, under a rule as wide as the table', () => {
    const text = renderTable(
      [
        { header: 'NAME', cell: (r: [string, number]) => r[0] },
        { header: 'N', cell: (r: [string, number]) => String(r[1]), align: 'right' },
        { header: 'NOTE', cell: () => '' },
      ],
      [
        ['a', 1000],
        ['longer', 2],
      ],
    );
    expect(text.split('\n')).toEqual([
      'NAME       N  NOTE',
      '──────────────────',
      'a       1000',
      'longer     2',
    ]);
  });

  it('is a header and a rule without rows', () => {
    expect(renderTable([{ header: 'ID', cell: () => 'x' }], [])).toBe('ID\n──');
  });
});
