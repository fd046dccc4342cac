import { isValidId, stringOption, UsageError } from '@ringcast/protocol';
import {
  type AclRequest,
  type AclRule,
  aclRules,
  aclSetUserArgs,
  defaultUser,
  PASSWORD_PLACEHOLDER,
  USER_PATTERN,
} from '../acl/acl-rules.js';
import { ROLE_GRANTS, ROLES, type Role } from '../acl/role-grants.js';
import { positionalsOf } from '../cli-args.js';
import type { Command } from '../command.js';
import { renderTable } from '../render/table.js';

interface AclArgs {
  role: Role;
  id: string | undefined;
  user: string | undefined;
  passwordEnv: string | undefined;
  readOnly: boolean;
  explain: boolean;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

export const aclCommand: Command<AclArgs> = {
  name: 'acl',
  synopsis: 'acl --role <role>',
  summary: 'the ACL SETUSER line for a worker, dispatcher or admin Redis user',
  help: `Usage: ringcast acl --role worker|dispatcher|admin [--id <id>] [--read-only]
                    [--user <name>] [--password-env <VAR>] [--explain] [options]

Prints the Redis ACL SETUSER line (Redis 7 or later) that grants a role
exactly the commands, keys and channels ringcast uses for it in the namespace,
and nothing else: apply it with redis-cli as an administrator. Connects to
nothing (--redis and the TLS flags are not used). With --cluster (its nodes
are not contacted either) the line is for a Redis Cluster: the cluster's
hash-tagged names and sharded pub/sub; apply it on every node.

Roles:
${ROLES.map((role) => `  ${role.padEnd(12)} ${ROLE_GRANTS[role].summary}`).join('\n')}

Options:
  --role <role>        worker, dispatcher or admin (required)
  --id <id>            a worker's id: it may subscribe to its own channel alone
                       and write its own heartbeat, claim and stats keys alone;
                       a dispatcher's id: it may subscribe to its own reply
                       channel alone (recommended for both; the processes must
                       then be started with that id)
  --user <name>        the user's name (default <namespace>-<role>[-<id>],
                       <namespace>-admin-read-only with --read-only)
  --read-only          (admin) no reweight or drain: the reads of workers,
                       stats, inspect and the dashboard alone
  --password-env <VAR> take the password from environment variable VAR and
                       print its SHA-256 (#<hash>), never the password;
                       without it the line holds ${PASSWORD_PLACEHOLDER}: replace
                       <password> before applying it
  --explain            print each rule with the reason it is there
`,
  options: {
    role: { type: 'string' },
    id: { type: 'string' },
    user: { type: 'string' },
    'password-env': { type: 'string' },
    'read-only': { type: 'boolean' },
    explain: { type: 'boolean' },
  },
  parse(values, positionals) {
    positionalsOf(positionals, []);
    const role = stringOption(values, 'role');
    if (role === undefined) throw new UsageError(`--role is required: ${ROLES.join(', ')}`);
    if (!isRole(role)) {
      throw new UsageError(
        `--role must be ${ROLES.join(', ')}, got ${JSON.stringify(role.slice(0, 80))}`,
      );
    }
    const id = stringOption(values, 'id');
    if (id !== undefined) {
      if (!ROLE_GRANTS[role].takesId) throw new UsageError(`--id does not go with --role ${role}`);
      const shown = JSON.stringify(id.slice(0, 80));
      if (!isValidId(id)) throw new UsageError(`${shown} is not a valid id`);
    }
    const user = stringOption(values, 'user');
    if (user !== undefined && !USER_PATTERN.test(user)) {
      throw new UsageError(
        `--user must be 1 to 128 of A-Z a-z 0-9 _ . : @ -, got ${JSON.stringify(user.slice(0, 80))}`,
      );
    }
    const passwordEnv = stringOption(values, 'password-env');
    if (passwordEnv !== undefined && !ENV_NAME.test(passwordEnv)) {
      throw new UsageError(
        `--password-env takes the name of an environment variable, got ${JSON.stringify(passwordEnv.slice(0, 80))}`,
      );
    }
    const readOnly = values['read-only'] === true;
    if (readOnly && role !== 'admin') throw new UsageError('--read-only goes with --role admin');
    return { role, id, user, passwordEnv, readOnly, explain: values['explain'] === true };
  },
  async run(ctx, args) {
    let password: AclRequest['password'] = { kind: 'placeholder' };
    if (args.passwordEnv !== undefined) {
      const value = ctx.env[args.passwordEnv];
      if (!value) throw new UsageError(`--password-env: ${args.passwordEnv} is not set or empty`);
      password = { kind: 'secret', password: value };
    }
    const request: AclRequest = {
      role: args.role,
      namespace: ctx.namespace,
      ...(args.id !== undefined && { id: args.id }),
      readOnly: args.readOnly,
      ...(ctx.cluster !== undefined && { cluster: true }),
      user: args.user ?? defaultUser(args.role, ctx.namespace, args.id, args.readOnly),
      password,
    };
    const setUser = ['SETUSER', ...aclSetUserArgs(request)];
    const line = ['ACL', ...setUser].join(' ');
    const rules = aclRules(request);
    if (ctx.json) {
      const { role, namespace, user } = request;
      ctx.out(
        JSON.stringify({ role, namespace, id: args.id ?? null, user, line, args: setUser, rules }),
      );
      return;
    }
    ctx.out(line);
    if (args.explain) {
      ctx.out('');
      ctx.out(
        renderTable<AclRule>(
          [
            { header: 'RULE', cell: (r) => r.rule },
            { header: 'WHY', cell: (r) => r.why },
          ],
          rules,
        ),
      );
    }
  },
};
