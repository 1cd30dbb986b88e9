// `sftpgo plan` for pull requests: the Markdown rendering of a plan, secrets kept out of every
// output, Terraform's detailed exit codes, and runtime overrides shown as drift.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../../support/cli.ts';
import { freePort } from '../../support/net.ts';
import { startServer } from '../../support/server.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';

afterAll(removeTempDirs);

// bcrypt cost 4: a real hash, cheap enough for tests.
const HASH = '$2a$04$aa0ohsxV4GQB0dfEVx1lyuKxITTwO.98o07/bmZWgx6U4f5tl8Ua6';
const SECRETS = ['carol-Secret-1', 'carol-Secret-2', 's3-Secret-1', 's3-Secret-2'];

function config(port: number, opts: { aliceDescription?: string; bob?: boolean; carolPassword?: string; s3Secret?: string } = {}): string {
  return `sftpd:
  bindings: [{ address: 127.0.0.1, port: ${port} }]
data_provider:
  password_hashing: { bcrypt_options: { cost: 4 } }
users:
  - username: alice
    password: "${HASH}"
    home_dir: /srv/sftp/alice
    description: "${opts.aliceDescription ?? 'first'}"
  - username: carol
    password: ${opts.carolPassword ?? 'carol-Secret-1'}
    home_dir: /srv/sftp/carol
    filesystem:
      provider: s3
      s3config: { bucket: carol, region: us-east-1, access_key: AKCAROL, access_secret: ${opts.s3Secret ?? 's3-Secret-1'} }
${opts.bob ? `  - username: bob\n    password: "${HASH}"\n    home_dir: /srv/sftp/bob\n` : ''}`;
}

describe('plan outputs', () => {
  let dir: string;
  let data: string;
  let cfg: string;
  let port: number;
  const plan = (args: string[]) => runCli(['plan', '--config', cfg, '--data-dir', data, ...args]);

  beforeAll(async () => {
    dir = tempDir('plan-output-');
    data = join(dir, 'data');
    cfg = join(dir, 'sftpgo.yaml');
    port = await freePort();
    const s = await startServer({ yaml: config(port), cwd: dir, dataDir: data });
    await s.stop();
  });

  test('a two-change plan renders as this Markdown', () => {
    writeFileSync(cfg, config(port, { aliceDescription: 'on call | ops', bob: true }));
    const r = plan(['--output', 'markdown']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        '### sftpgo plan',
        '',
        '**Plan:** 1 to add, 1 to change, 0 to destroy (users: 1 to add, 1 to change).',
        '',
        '#### users',
        '',
        '| action | name | changes |',
        '| --- | --- | --- |',
        '| ~ change | `alice` | `description`: `first` → `on call \\| ops` |',
        '| + add | `bob` |  |',
        '',
      ].join('\n'),
    );
    // The text form says the same, values included; --json is --output json.
    const text = plan([]).stdout.split('\n');
    expect(text).toContain('~ user alice (description)');
    expect(text).toContain('    description: first → on call | ops');
    expect(text).toContain('+ user bob');
    expect(plan(['--json']).stdout).toBe(plan(['--output', 'json']).stdout);
    expect(JSON.parse(plan(['--json']).stdout).summary).toEqual({ create: 1, update: 1, delete: 0, drift: 0 });
  });

  test('a changed password and a changed S3 secret show as changed, never their values', () => {
    writeFileSync(cfg, config(port, { carolPassword: 'carol-Secret-2', s3Secret: 's3-Secret-2' }));
    const outputs = ['text', 'json', 'markdown'].map((o) => plan(['--output', o]));
    for (const r of outputs) {
      expect(r.code).toBe(0);
      for (const s of SECRETS) expect(r.stdout + r.stderr).not.toContain(s);
      // Nor the sealed form the store keeps.
      expect(r.stdout).not.toContain('v1:');
    }
    const [text, json, markdown] = outputs.map((r) => r.stdout) as [string, string, string];
    expect(text).toContain('~ user carol (filesystem, password)');
    expect(text).toContain('    filesystem.s3config.access_secret: (secret changed)');
    expect(text).toContain('    password: (secret changed)');
    expect(JSON.parse(json).changes).toEqual([{ action: 'update', kind: 'user', name: 'carol', fields: ['filesystem', 'password'] }]);
    expect(markdown).toContain('| ~ change | `carol` | `filesystem.s3config.access_secret`: (secret changed)<br>`password`: (secret changed) |');
  });

  test('--detailed-exitcode: 0 without changes, 2 with changes, 1 on an error', () => {
    writeFileSync(cfg, config(port));
    expect(plan(['--detailed-exitcode']).code).toBe(0);
    expect(plan(['--detailed-exitcode', '--output', 'markdown']).stdout).toContain('**No changes.**');

    writeFileSync(cfg, config(port, { bob: true }));
    expect(plan(['--detailed-exitcode']).code).toBe(2);
    expect(plan(['--detailed-exitcode', '--output', 'json']).code).toBe(2);
    expect(plan([]).code).toBe(0);
    // No store yet: everything is to be created.
    expect(runCli(['plan', '--config', cfg, '--data-dir', join(dir, 'no-store'), '--detailed-exitcode']).code).toBe(2);

    writeFileSync(cfg, 'users:\n  - username: alice\n    quota_size: lots\n');
    const bad = plan(['--detailed-exitcode']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('users[0].quota_size: must be integer');
    writeFileSync(cfg, config(port, { bob: true }));
    const format = plan(['--detailed-exitcode', '--output', 'yaml']);
    expect(format.code).toBe(1);
    expect(format.stderr).toContain('--output must be one of text, json, markdown');
    expect(plan(['--output', 'yaml']).code).toBe(2);
    expect(plan(['--json', '--output', 'markdown', '--detailed-exitcode']).code).toBe(1);
    expect(plan(['--no-such-flag', '--detailed-exitcode']).code).toBe(1);
  });
});

describe('drift', () => {
  test('an override made through the API is drift in every output, and no change for the exit code', async () => {
    const dir = tempDir('plan-drift-');
    const data = join(dir, 'data');
    const sftpPort = await freePort();
    const apiPort = await freePort();
    const yaml = `${config(sftpPort)}httpd:
  bindings: [{ address: 127.0.0.1, port: ${apiPort} }]
admins:
  - username: root
    password: admin-Secret-1
    permissions: ["*"]
`;
    const server = await startServer({ yaml, cwd: dir, dataDir: data });
    try {
      const base = `http://127.0.0.1:${apiPort}/api/v2`;
      const tok = await fetch(`${base}/token`, { headers: { authorization: `Basic ${Buffer.from('root:admin-Secret-1').toString('base64')}` } });
      expect(tok.status).toBe(200);
      const auth = { authorization: `Bearer ${((await tok.json()) as { access_token: string }).access_token}` };
      const alice = (await (await fetch(`${base}/users/alice`, { headers: auth })).json()) as Record<string, unknown>;
      const put = await fetch(`${base}/users/alice`, { method: 'PUT', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ ...alice, quota_files: 42 }) });
      expect(put.status).toBe(200);
    } finally {
      await server.stop();
    }
    const plan = (args: string[]) => runCli(['plan', '--config', server.configPath, '--data-dir', data, ...args]);

    const text = plan(['--detailed-exitcode']);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('no changes');
    expect(text.stdout).toContain('drift: runtime overrides kept on top of the config');
    expect(text.stdout).toMatch(/override user alice \(quota_files\) by root at \d{4}-/);

    const json = plan(['--output', 'json', '--detailed-exitcode']);
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.stdout);
    expect(parsed.summary).toEqual({ create: 0, update: 0, delete: 0, drift: 1 });
    expect(parsed.drift).toEqual([expect.objectContaining({ kind: 'user', name: 'alice', fields: ['quota_files'], updated_by: 'root' })]);

    const md = plan(['--output', 'markdown', '--detailed-exitcode']);
    expect(md.code).toBe(0);
    expect(md.stdout).toContain('**No changes.** The store matches the config.');
    expect(md.stdout).toContain('#### Drift');
    expect(md.stdout).toContain('| kind | name | overridden fields | by | at |');
    expect(md.stdout).toMatch(/\| user \| `alice` \| `quota_files` \| `root` \| \d{4}-\d\d-\d\dT[\d:.]+Z \|/);

    // Drift beside a real change: the change alone sets the exit code.
    writeFileSync(server.configPath, yaml.replace('description: "first"', 'description: "second"'));
    const both = plan(['--output', 'markdown', '--detailed-exitcode']);
    expect(both.code).toBe(2);
    expect(both.stdout).toContain('| ~ change | `alice` | `description`: `first` → `second` |');
    expect(both.stdout).toContain('#### Drift');
  });
});
