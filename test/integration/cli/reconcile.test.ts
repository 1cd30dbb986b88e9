// Reconcile end to end through the real CLI: serve applies the YAML, plan reports the difference,
// invalid files change nothing, and the store survives revert/init and dump/load round trips.
import { afterAll, describe, expect, test } from 'bun:test';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { verifyPassword } from '../../../src/auth/passwords.ts';
import { LATEST_SCHEMA_VERSION } from '../../../src/store/migrations.ts';
import { runCli } from '../../support/cli.ts';
import { freePort } from '../../support/net.ts';
import { startServer } from '../../support/server.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';

afterAll(removeTempDirs);

// bcrypt cost 4: a real hash, cheap enough for tests.
const HASH = '$2a$04$aa0ohsxV4GQB0dfEVx1lyuKxITTwO.98o07/bmZWgx6U4f5tl8Ua6';

function yaml(port: number, users: { name: string; extra?: string }[], folders = ''): string {
  return [
    `sftpd:\n  bindings: [{ address: 127.0.0.1, port: ${port} }]`,
    folders,
    'users:',
    ...users.map((u) => `  - username: ${u.name}\n    password: "${HASH}"\n    home_dir: /srv/sftp/${u.name}\n${u.extra ?? ''}`),
  ].join('\n');
}

/** Digest of everything in the data dir (store and host keys), except LMDB's lock file. */
function storeDigest(dataDir: string): string {
  const h = createHash('sha256');
  for (const f of (readdirSync(dataDir, { recursive: true }) as string[]).sort()) {
    const p = join(dataDir, f);
    if (f.endsWith('-lock') || statSync(p).isDirectory()) continue;
    h.update(f).update(readFileSync(p));
  }
  return h.digest('hex');
}

function dump(dataDir: string): { users: Record<string, unknown>[]; folders: Record<string, unknown>[]; usage: Record<string, unknown> } {
  const r = runCli(['dumpdata', '--data-dir', dataDir]);
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
}

async function serveOnce(dir: string, text: string, env: Record<string, string> = {}) {
  const s = await startServer({ yaml: text, cwd: dir, env });
  await s.stop();
  return s;
}

describe('reconcile through the CLI', () => {
  test('plan after serve says no changes; one edit is one update; one removal is one delete', async () => {
    const dir = tempDir();
    const port = await freePort();
    const data = join(dir, 'data');
    const cfg = join(dir, 'sftpgo.yaml');
    await serveOnce(dir, yaml(port, [{ name: 'alice' }, { name: 'bob' }, { name: 'carol' }]));

    let r = runCli(['plan', '--config', cfg, '--data-dir', data]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('no changes');

    writeFileSync(cfg, yaml(port, [{ name: 'alice' }, { name: 'bob', extra: '    quota_files: 10\n' }, { name: 'carol' }]));
    r = runCli(['plan', '--config', cfg, '--data-dir', data, '--json']);
    expect(JSON.parse(r.stdout).changes).toEqual([{ action: 'update', kind: 'user', name: 'bob', fields: ['quota_files'] }]);

    writeFileSync(cfg, yaml(port, [{ name: 'alice' }, { name: 'bob', extra: '    quota_files: 10\n' }]));
    r = runCli(['plan', '--config', cfg, '--data-dir', data, '--json']);
    expect(JSON.parse(r.stdout).changes).toEqual([
      { action: 'update', kind: 'user', name: 'bob', fields: ['quota_files'] },
      { action: 'delete', kind: 'user', name: 'carol', fields: [] },
    ]);

    const s = await serveOnce(dir, readFileSync(cfg, 'utf8'));
    expect(s.logs.filter((l) => l.event === 'reconcile_change').map((l) => `${l.action} ${l.name}`)).toEqual(['update bob', 'delete carol']);
    const d = dump(data);
    expect(d.users.map((u) => u.username)).toEqual(['alice', 'bob']);
    expect(d.users.find((u) => u.username === 'bob')!.quota_files).toBe(10);
    expect(runCli(['plan', '--config', cfg, '--data-dir', data]).stdout).toContain('no changes');
  });

  test('a clear password is hashed once: unchanged is no update, changed is a password-only update', async () => {
    const dir = tempDir();
    const port = await freePort();
    const data = join(dir, 'data');
    const cfg = join(dir, 'sftpgo.yaml');
    const text = `sftpd:\n  bindings: [{ address: 127.0.0.1, port: ${port} }]\ndata_provider:\n  password_hashing: { bcrypt_options: { cost: 4 } }\nusers:\n  - username: dora\n    password: { env: DORA_PW }\n    home_dir: /srv/dora\n`;
    await serveOnce(dir, text, { DORA_PW: 'first-secret' });
    const stored = dump(data).users[0]!;
    expect(stored.password).toStartWith('$2a$04$');
    expect(JSON.stringify(dump(data))).not.toContain('first-secret');
    expect(await verifyPassword('first-secret', stored.password as string)).toBe(true);

    expect(runCli(['plan', '--config', cfg, '--data-dir', data], { env: { DORA_PW: 'first-secret' } }).stdout).toContain('no changes');
    const changed = runCli(['plan', '--config', cfg, '--data-dir', data, '--json'], { env: { DORA_PW: 'second-secret' } });
    expect(JSON.parse(changed.stdout).changes).toEqual([{ action: 'update', kind: 'user', name: 'dora', fields: ['password'] }]);
  });

  test.each([
    ['bad type', 'users:\n  - username: alice\n    quota_size: lots\n', /sftpgo\.yaml:3:17: users\[0\]\.quota_size: must be integer/],
    ['unknown field', 'users:\n  - username: alice\n    quota_sise: 1\n', /sftpgo\.yaml:3:5: users\[0\]\.quota_sise: unknown field/],
    ['missing required field', 'users:\n  - home_dir: /srv/x\n', /sftpgo\.yaml:2:5: users\[0\]\.username: required/],
    ['YAML syntax error', 'users:\n  - username: [alice\n', /sftpgo\.yaml:\d+:\d+: YAML syntax/],
  ])('an invalid file (%s) is reported with line and column and leaves the store byte for byte', async (_name, bad, expected) => {
    const dir = tempDir();
    const port = await freePort();
    const data = join(dir, 'data');
    const cfg = join(dir, 'sftpgo.yaml');
    await serveOnce(dir, yaml(port, [{ name: 'alice' }]));
    const before = storeDigest(data);
    writeFileSync(cfg, bad);
    for (const cmd of ['validate', 'plan', 'serve']) {
      const r = runCli([cmd, '--config', cfg, '--data-dir', data]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(expected);
      expect(r.stderr).toContain('nothing was changed');
    }
    expect(storeDigest(data)).toBe(before);
  });

  test('the embedded default creates demo with a generated password, printed once, stored hashed', async () => {
    const dir = tempDir();
    const s = await startServer({ cwd: dir, dataDir: join(dir, 'data'), extraArgs: [] });
    await s.stop();
    const m = /Created user "demo" with password: (\S+)/.exec(s.stdout());
    expect(m).not.toBeNull();
    expect(s.stdout()).toContain('sftp -P 2022 demo@127.0.0.1');
    const demo = dump(join(dir, 'data')).users[0]!;
    expect(demo.username).toBe('demo');
    expect(await verifyPassword(m![1]!, demo.password as string)).toBe(true);
    const again = await startServer({ cwd: dir, dataDir: join(dir, 'data') });
    await again.stop();
    expect(again.stdout()).not.toContain('password');
  }, 30_000);

  test('revertprovider then initprovider round-trips the store', async () => {
    const dir = tempDir();
    const data = join(dir, 'data');
    await serveOnce(dir, yaml(await freePort(), [{ name: 'alice', extra: '    quota_size: 1000\n' }, { name: 'bob' }], 'folders:\n  - { name: f1, mapped_path: /srv/f1 }'));
    const before = dump(data);
    let r = runCli(['revertprovider', '--to-version', '1', '--data-dir', data]);
    expect(r.code).toBe(0);
    r = runCli(['dumpdata', '--data-dir', data]);
    expect(JSON.parse(r.stdout).schema_version).toBe(1);
    r = runCli(['initprovider', '--data-dir', data]);
    expect(r.stdout).toContain(`migrated to schema version ${LATEST_SCHEMA_VERSION}`);
    const after = dump(data);
    expect({ ...after, created_at: 0 }).toEqual({ ...before, created_at: 0 });
    expect(after.usage['user:alice']).toBeDefined();
  });

  test('dumpdata then loaddata into an empty store round-trips every field', async () => {
    const dir = tempDir();
    const data = join(dir, 'data');
    const port = await freePort();
    await serveOnce(
      dir,
      [
        `sftpd:\n  bindings: [{ address: 127.0.0.1, port: ${port} }]`,
        'folders:\n  - name: arch\n    filesystem: { provider: 1, s3config: { bucket: b, region: r, access_secret: { env: HOME } } }',
        'admins:\n  - { username: root, password: "' + HASH + '", permissions: ["*"] }',
        'users:',
        '  - username: erin',
        `    password: "${HASH}"`,
        '    home_dir: /srv/erin',
        '    status: 0',
        '    expiration_date: 1893456000000',
        '    public_keys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKMR9cHgY4yq0fGkCu7aN0bLNTKgWMB8d7c0C9FJd7e2 e@x"]',
        '    permissions: { "/": ["*"], "/ro": [list, download] }',
        '    virtual_folders: [{ name: arch, virtual_path: /archive, quota_size: -1 }]',
        '    filters: { allowed_ip: ["10.0.0.0/8"], file_patterns: [{ path: /, denied_patterns: ["*.exe"], deny_policy: 1 }] }',
      ].join('\n'),
    );
    const file = join(dir, 'dump.json');
    expect(runCli(['dumpdata', '--data-dir', data, '--output', file]).code).toBe(0);
    const empty = join(dir, 'empty');
    const r = runCli(['loaddata', '--input', file, '--data-dir', empty]);
    expect(r.stdout).toContain('loaded 1 users, 1 folders, 0 groups, 1 admins');
    const a = JSON.parse(readFileSync(file, 'utf8'));
    const b = dump(empty);
    expect({ ...b, created_at: 0 }).toEqual({ ...a, created_at: 0 });
    expect(a.users[0].filters.file_patterns[0].denied_patterns).toEqual(['*.exe']);
  });

  test('loaddata reads a dump from schema version 2 (before bans) and refuses one from a newer binary', async () => {
    const dir = tempDir();
    const data = join(dir, 'data');
    await serveOnce(dir, yaml(await freePort(), [{ name: 'alice' }]));
    const d = dump(data) as unknown as Record<string, unknown>;
    const v2: Record<string, unknown> = { ...d, schema_version: 2 };
    delete v2.bans;
    writeFileSync(join(dir, 'v2.json'), JSON.stringify(v2));
    const r = runCli(['loaddata', '--input', join(dir, 'v2.json'), '--data-dir', join(dir, 'fresh')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('loaded 1 users');
    expect(dump(join(dir, 'fresh')).users.map((u) => (u as { username: string }).username)).toEqual(['alice']);
    writeFileSync(join(dir, 'v99.json'), JSON.stringify({ ...d, schema_version: 99 }));
    const bad = runCli(['loaddata', '--input', join(dir, 'v99.json'), '--data-dir', join(dir, 'other')]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('the dump has schema version 99');
  });

  test('serve refuses a store with a newer schema', async () => {
    const dir = tempDir();
    const data = join(dir, 'data');
    await serveOnce(dir, yaml(await freePort(), [{ name: 'alice' }]));
    const d = dump(data) as unknown as Record<string, unknown>;
    // Simulate a store written by a newer binary: bump the version through a dump/load of meta.
    const { openStore } = await import('../../../src/store/open.ts');
    const store = await openStore(data);
    await store.write((tx) => tx.put('meta', 'schema_version', 99));
    await store.close();
    const r = runCli(['serve', '--config', join(dir, 'sftpgo.yaml'), '--data-dir', data]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('schema version 99 is newer than this binary supports');
    expect(d.users).toBeDefined();
  });
});
