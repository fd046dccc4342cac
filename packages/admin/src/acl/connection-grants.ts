/** The commands every connection ringcast opens needs, whatever its role's. */
import type { CommandGrant } from './grant.js';

/**
 * What every connection ringcast opens sends besides its own work. AUTH, HELLO
 * and QUIT need no grant: Redis lets every user run them.
 */
export const CONNECTION: readonly CommandGrant[] = [
  {
    command: 'client|setname',
    why: 'every connection names itself (CLIENT LIST shows whose it is)',
  },
  { command: 'info', why: "ioredis's ready check on connect (waits out a Redis still loading)" },
  { command: 'select', why: 'a database index in the Redis URL', cluster: false },
  {
    command: 'cluster|slots',
    why: "ioredis's Cluster reads the slot map (at connect, on MOVED, every second)",
    cluster: true,
  },
  { command: 'cluster|info', why: "ioredis's Cluster ready check", cluster: true },
  {
    command: 'readonly',
    why: "ioredis's Cluster sends it on its connections to replicas (it reads nothing from them)",
    cluster: true,
  },
  {
    command: 'asking',
    why: 'a command sent on to the node a slot is migrating to (ASK)',
    cluster: true,
  },
];
