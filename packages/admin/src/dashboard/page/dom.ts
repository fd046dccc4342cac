/** A few lines of DOM building, so each view reads as the markup it makes. */

export type Child = Node | string | number | null | undefined | false;

/** `<tag attrs>children</tag>`; an undefined attribute is left out, text is never parsed as HTML. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Readonly<Record<string, string | number | undefined>> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== undefined) element.setAttribute(name, String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    element.append(typeof child === 'number' ? String(child) : child);
  }
  return element;
}

const SVG = 'http://www.w3.org/2000/svg';

/** An SVG element with its attributes. */
export function svg(
  tag: string,
  attrs: Readonly<Record<string, string | number>>,
  text?: string,
): SVGElement {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) element.setAttribute(name, String(value));
  if (text !== undefined) element.textContent = text;
  return element;
}

/** The element with `id`; the page's markup has each one the scripts use. */
export function byId<T extends Element = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`the page has no #${id}`);
  return element as unknown as T;
}

/** Replaces a table body's rows; `empty` (one row spanning every column) when there are none. */
export function fillRows(
  table: HTMLTableElement,
  rows: readonly HTMLTableRowElement[],
  empty: string,
): void {
  const body = table.tBodies[0] ?? table.createTBody();
  if (rows.length > 0) {
    body.replaceChildren(...rows);
    return;
  }
  const columns = table.tHead?.rows[0]?.cells.length ?? 1;
  body.replaceChildren(el('tr', {}, el('td', { colspan: columns, class: 'detail' }, empty)));
}
