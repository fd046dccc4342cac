import { describe, expect, it } from 'vitest';
import { main } from '../main.js';

/** Runs `ringcast <argv>`; the Redis URL points nowhere: acl must not connect. */
async function ringcast(argv: string[], env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(
    argv,
    { REDIS_URL: 'redis://127.0.0.1:1', ...env },
    { stdout: (t) => out.push(t), stderr: (t) => err.push(t) },
  );
  return { code, stdout: out.join(''), stderr: err.join('') };
}

describe('ringcast acl', () => {
  it('prints one ACL SETUSER line for the namespace, without connecting', async () => {
    const run = await ringcast(['acl', '--role', 'admin', '--namespace', 'shop']);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(
      /^ACL SETUSER shop-admin reset on ><password> %R~shop:workers .* \+subscribe\n$/,
    );
  });

  it('names the user as asked, and takes the password from the environment as its hash', async () => {
    const run = await ringcast(
      ['acl', '--role', 'worker', '--id', 'w-7', '--user', 'svc.worker', '--password-env', 'PW'],
      { PW: 's3cret-pw' },
    );
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /^ACL SETUSER svc\.worker reset on #[0-9a-f]{64} .*&ringcast:w:w-7 /,
    );
    expect(run.stdout).not.toContain('s3cret-pw');
  });

  it('--json: the arguments for a client, and each rule with its reason', async () => {
    const run = await ringcast(['acl', '--role', 'dispatcher', '--id', 'd-1', '--json']);
    const out = JSON.parse(run.stdout) as {
      user: string;
      id: string;
      line: string;
      args: string[];
      rules: Array<{ rule: string; why: string }>;
    };
    expect(out).toMatchObject({
      role: 'dispatcher',
      namespace: 'ringcast',
      id: 'd-1',
      user: 'ringcast-dispatcher-d-1',
    });
    expect(out.args.slice(0, 2)).toEqual(['SETUSER', 'ringcast-dispatcher-d-1']);
    expect(`ACL ${out.args.join(' ')}`).toBe(out.line);
    expect(out.rules.map((r) => r.rule)).toEqual(out.args.slice(2));
    expect(out.rules.find((r) => r.rule === '+evalsha')?.why).toMatch(/store scripts/);
  });

  it('--read-only: an admin user named for it, without the writes', async () => {
    const run = await ringcast(['acl', '--role', 'admin', '--read-only', '--namespace', 'shop']);
    expect(run.stdout).toMatch(/^ACL SETUSER shop-admin-read-only reset on /);
    expect(run.stdout).not.toMatch(/\+publish|\+hset|%W~/);
  });

  it('--explain: the line, then every rule with why it is there', async () => {
    const run = await ringcast(['acl', '--role', 'worker', '--explain']);
    const [line, blank, header, , ...rows] = run.stdout.trimEnd().split('\n');
    expect(line).toMatch(/^ACL SETUSER ringcast-worker /);
    expect(blank).toBe('');
    expect(header).toMatch(/^RULE\s+WHY$/);
    expect(rows).toHaveLength(line!.split(' ').length - 3);
    expect(rows).toContainEqual(
      expect.stringMatching(/^\+pubsub\|numsub\s+the claim script counts/),
    );
  });

  it.each([
    [['acl'], /--role is required/],
    [['acl', '--role', 'root'], /--role must be worker, dispatcher, admin, got "root"/],
    [['acl', '--role', 'admin', '--id', 'x'], /--id does not go with --role admin/],
    [['acl', '--role', 'worker', '--id', 'a b'], /"a b" is not a valid id/],
    [['acl', '--role', 'worker', '--user', 'a b'], /--user must be/],
    [['acl', '--role', 'worker', '--password-env', '1X'], /--password-env takes the name/],
    [
      ['acl', '--role', 'worker', '--password-env', 'UNSET_VARIABLE'],
      /UNSET_VARIABLE is not set or empty/,
    ],
    [['acl', '--role', 'worker', 'extra'], /unexpected argument "extra"/],
    [['acl', '--role', 'dispatcher', '--read-only'], /--read-only goes with --role admin/],
  ])('%j is a usage error (exit 2)', async (argv, message) => {
    const run = await ringcast(argv);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(message);
    expect(run.stderr.split('\n')).toHaveLength(2);
  });
});
