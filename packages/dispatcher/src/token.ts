/**
 * Whether `token` is `` `${id}.${attempt}` ``, read in place: a reply arrives for
 * every task, and building the expected token to compare would allocate each time.
 */
export function isToken(token: string, id: string, attempt: number): boolean {
  const dot = id.length;
  const end = token.length;
  if (end <= dot + 1 || token.charCodeAt(dot) !== 46 || !token.startsWith(id)) return false;
  // No leading zero: "id.01" is not attempt 1's token.
  if (token.charCodeAt(dot + 1) === 48 && end > dot + 2) return false;
  let n = 0;
  for (let i = dot + 1; i < end; i++) {
    const digit = token.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return false;
    n = n * 10 + digit;
  }
  return n === attempt;
}
