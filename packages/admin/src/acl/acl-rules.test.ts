import { createHash } from 'node:crypto';
import { ErrorCode, names } from '@ringcast/protocol';
import { describe, expect, it } from 'vitest';
import {
  type AclRequest,
  aclRules,
  aclSetUserLine,
  defaultUser,
  globLiteral,
  PASSWORD_PLACEHOLDER,
} from './acl-rules.js';
import { ROLES, type Role } from './role-grants.js';

const request = (role: Role, extra: Partial<AclRequest> = {}): AclRequest => ({
  role,
  namespace: 'prod',
  user: defaultUser(role, 'prod', extra.id),
  password: { kind: 'placeholder' },
  ...extra,
});

const rulesOf = (r: AclRequest) => aclRules(r).map(({ rule }) => rule);

/** Whether a rule's pattern (`~`, `%R~`, `%W~`, `&`) matches `name`: a literal with `*` wildcards. */
function matches(rule: string, name: string): boolean {
  const pattern = rule.replace(/^(%[RW]*~|~|&)/, '');
  const literal = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${pattern.split('*').map(literal).join('.*')}$`).test(name);
}

describe('aclRules', () => {
  it('a worker with its id: its own channel and keys, write-only where it only writes', () => {
    expect(aclSetUserLine(request('worker', { id: 'w1' }))).toBe(
      'ACL SETUSER prod-worker-w1 reset on ><password> ' +
        '~prod:workers ~prod:workers:version ~prod:workers:changes ~prod:workers:deadlines ' +
        '%R~prod:weights ~prod:hb:w1 ~prod:claim:w1 %W~prod:wstats:w1 %W~prod:parked:* ' +
        '&prod:w:w1 &prod:d:* &prod:ctl ' +
        '+client|setname +info +select +subscribe +unsubscribe +publish +multi +exec +hset +hdel +hget ' +
        '+set +del +time +zadd +zrem +hlen +rpush +ltrim +pexpire +eval +get +pubsub|numsub',
    );
  });

  it('a worker without an id: every worker id', () => {
    const rules = rulesOf(request('worker'));
    expect(rules).toEqual(expect.arrayContaining(['~prod:hb:*', '~prod:claim:*', '&prod:w:*']));
    expect(rules.filter((rule) => /w1/.test(rule))).toEqual([]);
  });

  it('a dispatcher with its id subscribes to its own reply channel alone; it still reads every worker', () => {
    const rules = rulesOf(request('dispatcher', { id: 'd1' }));
    expect(rules).toContain('&prod:d:d1');
    expect(rules).not.toContain('&prod:d:*');
    expect(rules).toEqual(expect.arrayContaining(['~prod:hb:*', '&prod:w:*', '~prod:parked:*']));
  });

  it('the admin role reads, and writes nothing but the weight policy', () => {
    const rules = rulesOf(request('admin', { id: 'ignored' }));
    const keys = rules.filter((rule) => rule.includes('~'));
    expect(keys.filter((rule) => !rule.startsWith('%R~'))).toEqual(['%W~prod:weights']);
    expect(rules.filter((rule) => rule.startsWith('&'))).toEqual(['&prod:w:*', '&prod:ctl']);
    expect(rules.join(' ')).not.toContain('ignored');
  });

  it('a read-only admin: the reads and the control channel, no reweight or drain', () => {
    const full = rulesOf(request('admin'));
    const readOnly = rulesOf(request('admin', { readOnly: true }));
    expect(full.filter((rule) => !readOnly.includes(rule))).toEqual([
      '%W~prod:weights',
      '&prod:w:*',
      '+hset',
      '+hdel',
      '+publish',
    ]);
    expect(readOnly.filter((rule) => !full.includes(rule))).toEqual([]);
    expect(defaultUser('admin', 'prod', undefined, true)).toBe('prod-admin-read-only');
  });

  it('starts from nothing, and never grants a category, a dangerous command or every key', () => {
    for (const role of ROLES) {
      const rules = rulesOf(request(role));
      expect(rules.slice(0, 3)).toEqual(['reset', 'on', PASSWORD_PLACEHOLDER]);
      expect(new Set(rules).size).toBe(rules.length);
      for (const rule of rules) {
        expect(rule).not.toMatch(/^[+-]@|^allkeys|^allchannels|^~\*|^&\*/);
        expect(rule).not.toMatch(/^\+(flushall|flushdb|config|keys|acl|debug|shutdown|script)\b/);
      }
      for (const { why } of aclRules(request(role))) expect(why.length).toBeGreaterThan(0);
    }
  });

  it("prints the password's SHA-256, never the password", () => {
    const password = 'correct horse battery staple';
    const line = aclSetUserLine(request('admin', { password: { kind: 'secret', password } }));
    const hash = createHash('sha256').update(password).digest('hex');
    expect(line).toContain(` #${hash} `);
    expect(line).not.toContain('horse');
  });

  it('refuses a user name that would need quoting, and an invalid id or namespace', () => {
    const refused = (fn: () => unknown) =>
      expect(fn).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_OPTIONS }));
    refused(() => aclSetUserLine(request('worker', { user: 'two words' })));
    refused(() => aclRules(request('worker', { id: 'a*b' })));
    refused(() => aclRules(request('worker', { namespace: 'a b' })));
  });

  for (const cluster of [false, true]) {
    it(`grants every key and channel protocol names to some role: a new name needs a grant${cluster ? ' (cluster names)' : ''}`, () => {
      const n = names('prod', { cluster });
      const every: string[] = [];
      for (const [field, value] of Object.entries(n)) {
        if (field === 'namespace' || field === 'taskKeyPrefix' || field === 'cluster') continue;
        every.push(typeof value === 'function' ? (value as (id: string) => string)('id-1') : value);
      }
      const rules = ROLES.flatMap((role) => rulesOf(request(role, { cluster })));
      const ungranted = every.filter((name) => !rules.some((rule) => matches(rule, name)));
      expect(ungranted).toEqual([]);
    });
  }

  it('cluster rules: hash-tagged names, sharded pub/sub and the slot map; a worker with its id gets its own tagged channel', () => {
    const rules = rulesOf(request('worker', { id: 'w-1', cluster: true }));
    expect(rules).toContain('&prod:w:{w-1}');
    expect(rules).toContain('~prod:claim:{w-1}');
    expect(rules).toContain('%W~prod:parked:{*}');
    expect(rules).toContain('~prod:{prod}:workers');
    expect(rules).toContain('~prod:{prod}:workers:deadlines');
    expect(rules).toContain('&prod:{prod}:ctl');
    for (const command of ['+ssubscribe', '+spublish', '+pubsub|shardnumsub', '+cluster|slots']) {
      expect(rules).toContain(command);
    }
    for (const command of ['+subscribe', '+publish', '+pubsub|numsub', '+select']) {
      expect(rules).not.toContain(command);
    }
    const standalone = rulesOf(request('worker', { id: 'w-1' }));
    expect(standalone).not.toContain('+spublish');
    expect(standalone).not.toContain('+cluster|slots');
  });
});

describe('globLiteral', () => {
  it('escapes what a Redis glob pattern reads as special', () => {
    expect(globLiteral('a*b?c[d]e\\f')).toBe('a\\*b\\?c\\[d\\]e\\\\f');
    expect(globLiteral('prod:w:w-1.x_y')).toBe('prod:w:w-1.x_y');
  });
});
