/**
 * Every Redis command, key and channel each ringcast role uses: the one list
 * `ringcast acl` turns into `ACL SETUSER` rules, and that the docs and tests
 * read. Each grant says which code needs it. Commands that a Lua script runs
 * are listed too: Redis checks a script's `redis.call`s against the caller's
 * ACL like any other command, and any key a script is given in KEYS needs read
 * and write access (EVAL's key spec says so).
 *
 * Kept honest by test/security/acl.test.ts, which runs dispatchers, CLI
 * workers and the admin CLI under these users on a Redis whose ACL LOG must
 * stay empty: a command, key or channel the code uses but this list lacks
 * fails it. When code starts using a new command or name, add it to the role's
 * list: worker-grants.ts, dispatcher-grants.ts, admin-grants.ts, or
 * connection-grants.ts for what every connection sends.
 */
import { ADMIN_GRANTS } from './admin-grants.js';
import { DISPATCHER_GRANTS } from './dispatcher-grants.js';
import type { Role, RoleGrants } from './grant.js';
import { WORKER_GRANTS } from './worker-grants.js';

export {
  type ChannelGrant,
  type CommandGrant,
  type KeyAccess,
  type KeyGrant,
  type NameOf,
  type PerId,
  ROLES,
  type Role,
  type RoleGrants,
} from './grant.js';

export const ROLE_GRANTS: Readonly<Record<Role, RoleGrants>> = {
  worker: WORKER_GRANTS,
  dispatcher: DISPATCHER_GRANTS,
  admin: ADMIN_GRANTS,
};
