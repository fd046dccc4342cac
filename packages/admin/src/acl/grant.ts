/**
 * What a grant of `ringcast acl` is: a command, a key with its access, or a
 * channel a role uses, each with the reason (role-grants.ts lists them).
 */
import type { Names } from '@ringcast/protocol';

export const ROLES = ['worker', 'dispatcher', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** What a key grant allows (Redis 7 key permissions: `%R~`, `%W~`, `~`). */
export type KeyAccess = 'read' | 'write' | 'read-write';

/**
 * Names a key or channel: a fixed name, or a per-id one, which is the role's
 * own id's name when the role was given `--id` and the one of every id else.
 */
export type NameOf = (n: Names) => string | PerId;

/** A per-id name; `own`: this role's own id (a worker's channel), not another's. */
export interface PerId {
  readonly name: (id: string) => string;
  readonly own: boolean;
}

/** What every grant says beside what it grants. */
interface Grant {
  readonly why: string;
  /** Only for an operator's changes (reweight, drain): left out of a read-only admin user. */
  readonly operator?: true;
  /**
   * Only on a Redis Cluster (true: sharded pub/sub, the slot map) or only on a
   * standalone Redis (false: classic pub/sub); both when absent.
   */
  readonly cluster?: boolean;
}

export interface KeyGrant extends Grant {
  readonly key: NameOf;
  readonly access: KeyAccess;
}

export interface ChannelGrant extends Grant {
  readonly channel: NameOf;
}

export interface CommandGrant extends Grant {
  /** As ACL names it: `hset`, `client|setname`. */
  readonly command: string;
}

export interface RoleGrants {
  readonly summary: string;
  /** Whether `--id` narrows it (its own channel and keys). */
  readonly takesId: boolean;
  readonly commands: readonly CommandGrant[];
  readonly keys: readonly KeyGrant[];
  readonly channels: readonly ChannelGrant[];
}

/** The role's own id's name, given `--id`; every id's else. */
export const own = (name: (id: string) => string): PerId => ({ name, own: true });
/** Every id's name: another process's channel or key. */
export const anyId = (name: (id: string) => string): PerId => ({ name, own: false });
