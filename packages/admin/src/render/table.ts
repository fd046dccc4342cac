/** A plain-text table: a header, a rule, rows; text columns flush left, figures flush right. */

export interface Column<R> {
  header: string;
  /** The cell's text for a row. */
  cell(row: R): string;
  /** @defaultValue 'left' */
  align?: 'left' | 'right';
}

const GAP = '  ';

export function renderTable<R>(columns: readonly Column<R>[], rows: readonly R[]): string {
  const cells = rows.map((row) => columns.map((column) => column.cell(row)));
  const widths = columns.map((column, i) =>
    Math.max(column.header.length, ...cells.map((line) => line[i]!.length)),
  );
  const line = (texts: readonly string[]): string =>
    texts
      .map((text, i) =>
        columns[i]!.align === 'right' ? text.padStart(widths[i]!) : text.padEnd(widths[i]!),
      )
      .join(GAP)
      .trimEnd();
  const header = line(columns.map((column) => column.header));
  const rule = '─'.repeat(
    widths.reduce((sum, width) => sum + width, 0) + GAP.length * (widths.length - 1),
  );
  return [header, rule, ...cells.map(line)].join('\n');
}
