/**
 * What JSON would lose of a value at its top level, checked before a payload or
 * a handler's result is sent: a value that would arrive as something else is
 * refused on both sides rather than delivered changed.
 */

/**
 * How JSON would change `value`, or undefined when it carries it faithfully at
 * the top level: a Map, Set, WeakMap, WeakSet, Promise or Error without a
 * `toJSON` "would arrive as {}"; NaN or ±Infinity "would arrive as null" (the
 * phrase returned says which).
 * Functions and symbols, which JSON drops, are each side's to refuse. Only the
 * top level is looked at: a deep walk would cost as much as encoding; nested
 * values follow JSON's rules.
 */
export function jsonLoss(value: unknown): string | undefined {
  if (typeof value === 'number') {
    return Number.isFinite(value)
      ? undefined
      : `${value} would arrive as null; JSON has no such number`;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  // Plain objects and arrays pass on one property read (a quarter of the cost of
  // Object.getPrototypeOf, measured); the rest are looked at closer.
  const ctor: unknown = (value as { constructor?: unknown }).constructor;
  if (ctor === Object || ctor === Array || !isLossy(value)) return undefined;
  const name: unknown = (ctor as { name?: unknown } | undefined)?.name;
  return `of type ${typeof name === 'string' ? name.slice(0, 64) : 'object'} would arrive as {}`;
}

/** Objects JSON turns into `{}`. */
function isLossy(value: object): boolean {
  return (
    (value instanceof Map ||
      value instanceof Set ||
      value instanceof WeakMap ||
      value instanceof WeakSet ||
      value instanceof Promise ||
      value instanceof Error) &&
    typeof (value as { toJSON?: unknown }).toJSON !== 'function'
  );
}
