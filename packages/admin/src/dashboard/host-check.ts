/**
 * Which `Host` headers the dashboard answers: a defence against DNS
 * rebinding. A page on `evil.example` whose name the attacker re-points at
 * 127.0.0.1 could otherwise read the dashboard from the victim's browser,
 * since to the browser it is the attacker's own origin; its requests still
 * say `Host: evil.example`, and that is refused.
 *
 * Answered: `localhost` and names under it (browsers resolve them to this
 * machine themselves), any IP address (a page whose origin is an address is
 * the dashboard's own origin: no name to re-point), the address the dashboard
 * listens on, and the names an operator allows (`--allow-host`). Ports are
 * not compared: the listening socket already decides those.
 */
import { isIP } from 'node:net';

/** A host header's name, lower-cased, without its port or an IPv6 address's brackets; undefined if it has none. */
export function hostName(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const value = header.trim().toLowerCase();
  if (value.startsWith('[')) {
    const end = value.indexOf(']');
    return end > 1 ? value.slice(1, end) : undefined;
  }
  const colon = value.indexOf(':');
  // More than one colon and no brackets: a bare IPv6 address, which no client should send, but is no name.
  if (colon >= 0 && value.indexOf(':', colon + 1) >= 0) return value;
  const name = colon < 0 ? value : value.slice(0, colon);
  return name === '' ? undefined : name.replace(/\.$/, '');
}

/** A check of `Host` headers for a dashboard listening on `listenHost`, answering `allowed` names too. */
export function hostCheck(
  listenHost: string,
  allowed: readonly string[] = [],
): (header: string | undefined) => boolean {
  const names = new Set([listenHost, ...allowed].map((name) => hostName(name)));
  return (header) => {
    const name = hostName(header);
    if (name === undefined) return false;
    return (
      name === 'localhost' || name.endsWith('.localhost') || isIP(name) !== 0 || names.has(name)
    );
  };
}
