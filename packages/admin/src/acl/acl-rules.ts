/**
 * A role's grants (role-grants.ts) as the rules of one `ACL SETUSER` for one
 * namespace: `reset` first, so applying it again replaces what the user had;
 * then its password, keys, channels and commands, each with why it is there.
 */
import { createHash } from 'node:crypto';
import { ErrorCode, isValidId, type Names, names, RingcastError } from '@ringcast/protocol';
import { type KeyAccess, type NameOf, ROLE_GRANTS, type Role } from './role-grants.js';

/** How the user's password appears in the rules. */
export type PasswordRule =
  /** `><password>`: a placeholder the operator replaces. */
  | { kind: 'placeholder' }
  /** `#<sha256>`: the password's hash, so the rules never show the password itself. */
  | { kind: 'secret'; password: string };

export interface AclRequest {
  role: Role;
  namespace: string;
  /** The worker's or dispatcher's own id: its channel and keys alone, not every id's. */
  id?: string;
  /** Leave out the operator's changes (reweight, drain): an admin user that only reads. */
  readOnly?: boolean;
  /**
   * For a deployment on a Redis Cluster: the cluster's names (hash-tagged) and
   * commands (sharded pub/sub, the slot map). Apply the rules on every node.
   */
  cluster?: boolean;
  user: string;
  password: PasswordRule;
}

/** One rule of `ACL SETUSER` and why it is there. */
export interface AclRule {
  rule: string;
  why: string;
}

export const PASSWORD_PLACEHOLDER = '><password>';

/** A user name that needs no quoting in a shell or in redis-cli. */
export const USER_PATTERN = /^[A-Za-z0-9_.:@-]{1,128}$/;

const KEY_PREFIX: Record<KeyAccess, string> = { read: '%R~', write: '%W~', 'read-write': '~' };

/** The user's name when none is given: `<namespace>-<role>[-<id>]`, or `<namespace>-admin-read-only`. */
export function defaultUser(role: Role, namespace: string, id?: string, readOnly = false): string {
  const suffix = readOnly ? ['read-only'] : id === undefined ? [] : [id];
  return [namespace, role, ...suffix].join('-');
}

/**
 * A literal for a Redis glob pattern. Namespaces and ids cannot hold any of
 * these characters today; escaping anyway keeps a pattern from ever matching
 * more than the name it spells.
 */
export function globLiteral(text: string): string {
  return text.replace(/[\\*?[\]]/g, (c) => `\\${c}`);
}

/** Sample id for finding what a per-id name puts before the id. */
const SAMPLE_ID = 'x';

/** The glob pattern of a name: itself, its own id's, or every id's. */
function pattern(name: NameOf, n: Names, id: string | undefined): string {
  const of = name(n);
  if (typeof of === 'string') return globLiteral(of);
  if (of.own && id !== undefined) return globLiteral(of.name(id));
  const sample = of.name(SAMPLE_ID);
  // A cluster's per-id names end with the id as their hash tag: `<ns>:w:{<id>}`.
  const tagged = `{${SAMPLE_ID}}`;
  if (sample.endsWith(tagged)) return `${globLiteral(sample.slice(0, -tagged.length))}{*}`;
  if (!sample.endsWith(SAMPLE_ID)) {
    throw new Error(`a per-id name must end with the id, got ${JSON.stringify(sample)}`);
  }
  return `${globLiteral(sample.slice(0, -SAMPLE_ID.length))}*`;
}

/** The rules, in order, each with its reason. Throws `INVALID_OPTIONS` for a bad namespace or id. */
export function aclRules(request: AclRequest): AclRule[] {
  const all = ROLE_GRANTS[request.role];
  const kept = <G extends { operator?: true }>(list: readonly G[]) =>
    request.readOnly ? list.filter((grant) => !grant.operator) : list;
  const mode = <G extends { cluster?: boolean }>(list: readonly G[]) =>
    list.filter(
      (grant) => grant.cluster === undefined || grant.cluster === (request.cluster === true),
    );
  const grants = {
    takesId: all.takesId,
    keys: mode(kept(all.keys)),
    channels: mode(kept(all.channels)),
    commands: mode(kept(all.commands)),
  };
  const n = names(request.namespace, { cluster: request.cluster === true });
  const id = grants.takesId ? request.id : undefined;
  if (id !== undefined && !isValidId(id)) invalid(`${JSON.stringify(id)} is not a valid id`);
  const password: AclRule =
    request.password.kind === 'placeholder'
      ? { rule: PASSWORD_PLACEHOLDER, why: 'the password: replace <password> with it' }
      : {
          rule: `#${createHash('sha256').update(request.password.password).digest('hex')}`,
          why: "the password's SHA-256 (Redis keeps no more than that either)",
        };
  return [
    { rule: 'reset', why: 'start from nothing: no keys, channels or commands' },
    { rule: 'on', why: 'the user may log in' },
    password,
    ...grants.keys.map(({ key, access, why }) => ({
      rule: `${KEY_PREFIX[access]}${pattern(key, n, id)}`,
      why,
    })),
    ...grants.channels.map(({ channel, why }) => ({ rule: `&${pattern(channel, n, id)}`, why })),
    ...grants.commands.map(({ command, why }) => ({ rule: `+${command}`, why })),
  ];
}

/** `ACL SETUSER`'s arguments: the user's name, then the rules. */
export function aclSetUserArgs(request: AclRequest): string[] {
  if (!USER_PATTERN.test(request.user)) {
    invalid(`user must match ${USER_PATTERN}, got ${JSON.stringify(request.user.slice(0, 80))}`);
  }
  return [request.user, ...aclRules(request).map((r) => r.rule)];
}

/** `ACL SETUSER <user> <rules…>` as one line, for redis-cli. */
export function aclSetUserLine(request: AclRequest): string {
  return ['ACL', 'SETUSER', ...aclSetUserArgs(request)].join(' ');
}

function invalid(message: string): never {
  throw new RingcastError(ErrorCode.INVALID_OPTIONS, message);
}
