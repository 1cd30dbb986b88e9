// Groups end to end: a member of a primary and a secondary group logs in over OpenSSH sftp with the
// primary group's %username% home, permissions and virtual folder plus the secondary group's extra
// folder; a group edit in the YAML changes what members can do after SIGHUP; /api/v2/groups in
// SFTPGo's shape; an SFTPGo backup's groups imported; `plan` naming the members a change affects; a
// pre-login hook's user mapped to a group.
import { afterAll, describe, expect, test } from 'bun:test';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../../support/cli.ts';
import { freePort } from '../../support/net.ts';
import { run } from '../../support/run.ts';
import { startServer, type RunningServer } from '../../support/server.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';

afterAll(removeTempDirs);

const PW = 'member-Secret-1';
const ADMIN_PW = 'admin-Secret-1';

interface Setup {
  dir: string;
  sftpPort: number;
  apiPort: number;
  shared: string;
  extra: string;
}

/** The YAML: two groups, two folders, ann in both groups (no home_dir, no permissions of her own). */
function yaml(s: Setup, rootPerms: string): string {
  return `sftpd:
  bindings: [{ address: 127.0.0.1, port: ${s.sftpPort} }]
httpd:
  bindings: [{ address: 127.0.0.1, port: ${s.apiPort} }]
data_provider:
  password_hashing: { bcrypt_options: { cost: 4 } }
folders:
  - { name: shared, mapped_path: "${s.shared}/%username%" }
  - { name: extra, mapped_path: "${s.extra}" }
groups:
  - name: staff
    description: every employee
    user_settings:
      home_dir: "${s.dir}/homes/%username%"
      max_sessions: 5
      permissions:
        "/": [${rootPerms}]
        "/in": ["*"]
        "/shared": ["*"]
    virtual_folders:
      - { name: shared, virtual_path: /shared }
  - name: projects
    user_settings:
      permissions:
        "/": ["*"]
        "/extra": ["list", "upload"]
    virtual_folders:
      - { name: extra, virtual_path: /extra }
  - name: everyone
users:
  - username: ann
    password: "${PW}"
    groups:
      - { name: staff, type: 1 }
      - { name: projects, type: 2 }
      - { name: everyone, type: 3 }
admins:
  - { username: root, password: "${ADMIN_PW}", permissions: ["*"] }
  - { username: grouper, password: "${ADMIN_PW}", permissions: [manage_groups] }
  - { username: viewer, password: "${ADMIN_PW}", permissions: [view_users] }
`;
}

async function setup(rootPerms = '"list", "download"'): Promise<{ s: Setup; server: RunningServer }> {
  const dir = tempDir('groups-it-');
  const s: Setup = { dir, sftpPort: await freePort(), apiPort: await freePort(), shared: join(dir, 'shared'), extra: join(dir, 'extra') };
  mkdirSync(join(s.shared, 'ann'), { recursive: true });
  mkdirSync(s.extra, { recursive: true });
  mkdirSync(join(dir, 'homes/ann/in'), { recursive: true });
  const server = await startServer({ yaml: yaml(s, rootPerms), cwd: dir });
  return { s, server };
}

const SSH_OPTS = ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-F', '/dev/null', '-o', 'BatchMode=no', '-o', 'PubkeyAuthentication=no', '-o', 'NumberOfPasswordPrompts=1'];

/** An OpenSSH `sftp -b` batch (ann by default); a line starting with "-" may fail. */
function sftp(s: Pick<Setup, 'sftpPort'>, lines: string[], user = 'ann', password = PW): ReturnType<typeof run> {
  const batch = join(tempDir('groups-batch-'), 'batch');
  writeFileSync(batch, lines.join('\n') + '\n');
  return run('sshpass', ['-p', password, 'sftp', ...SSH_OPTS, '-P', String(s.sftpPort), '-b', batch, `${user}@127.0.0.1`]);
}

async function api(s: Setup, method: string, path: string, opts: { admin?: string; body?: unknown } = {}): Promise<{ status: number; json: any; headers: Headers }> {
  const basic = `Basic ${Buffer.from(`${opts.admin ?? 'root'}:${ADMIN_PW}`).toString('base64')}`;
  const t = await fetch(`http://127.0.0.1:${s.apiPort}/api/v2/token`, { headers: { authorization: basic } });
  const { access_token } = (await t.json()) as { access_token: string };
  const res = await fetch(`http://127.0.0.1:${s.apiPort}${path}`, {
    method,
    headers: { authorization: `Bearer ${access_token}`, ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined, headers: res.headers };
}

describe('groups', () => {
  test('a member logs in with the primary group\'s home, permissions and folder, plus the secondary group\'s folder; a YAML edit applies after SIGHUP', async () => {
    const { s, server } = await setup();
    try {
      const local = join(tempDir(), 'f.txt');
      writeFileSync(local, 'from ann\n');
      const r = await sftp(s, ['ls /', `put ${local} /in/f.txt`, `put ${local} /shared/s.txt`, `put ${local} /extra/e.txt`, `-put ${local} /root.txt`, 'pwd']);
      expect(r.stdout).toContain('/shared');
      expect(r.stdout).toContain('/extra');
      // The primary group's home with %username% replaced, created at login.
      expect(readFileSync(join(s.dir, 'homes/ann/in/f.txt'), 'utf8')).toBe('from ann\n');
      // The folder's mapped_path placeholder is replaced for the member too.
      expect(readFileSync(join(s.shared, 'ann/s.txt'), 'utf8')).toBe('from ann\n');
      expect(readFileSync(join(s.extra, 'e.txt'), 'utf8')).toBe('from ann\n');
      // "/" is the primary group's list+download (the secondary group's "/" is ignored).
      expect(existsSync(join(s.dir, 'homes/ann/root.txt'))).toBe(false);
      expect(r.stderr).toMatch(/root\.txt.*(denied|Permission)/i);

      // The user's own record (what the API shows) is unchanged: no home or permissions copied in.
      const ann = await api(s, 'GET', '/api/v2/users/ann');
      expect(ann.json.groups).toEqual([{ name: 'staff', type: 1 }, { name: 'projects', type: 2 }, { name: 'everyone', type: 3 }]);

      writeFileSync(server.configPath, yaml(s, '"*"'));
      server.proc.kill('SIGHUP');
      expect(await server.waitForLog((l) => l.event === 'reload_applied')).toMatchObject({ update: 1 });
      const again = await sftp(s, [`put ${local} /root.txt`]);
      expect(again.status).toBe(0);
      expect(readFileSync(join(s.dir, 'homes/ann/root.txt'), 'utf8')).toBe('from ann\n');
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  test('/api/v2/groups: CRUD in SFTPGo\'s shape, members listed, delete refused while referenced, an API edit reaches the next login', async () => {
    const { s, server } = await setup();
    try {
      const staff = await api(s, 'GET', '/api/v2/groups/staff');
      expect(staff.status).toBe(200);
      expect(staff.json).toMatchObject({
        name: 'staff',
        description: 'every employee',
        users: ['ann'],
        source: 'config',
        user_settings: { home_dir: `${s.dir}/homes/%username%`, max_sessions: 5, permissions: { '/': ['list', 'download'] } },
        virtual_folders: [{ name: 'shared', virtual_path: '/shared', mapped_path: `${s.shared}/%username%` }],
      });
      expect(typeof staff.json.id).toBe('number');
      // The store's record counts (ours, in the status) include groups.
      expect((await api(s, 'GET', '/api/v2/status')).json.store).toMatchObject({ groups: 3 });
      // A folder lists the groups mounting it, as SFTPGo's does.
      expect((await api(s, 'GET', '/api/v2/folders/shared')).json.groups).toEqual(['staff']);

      // The GET body sent back (SFTPGo clients do this) stores no override.
      const back = await api(s, 'PUT', '/api/v2/groups/staff', { body: staff.json });
      expect(back.json).toMatchObject({ message: 'group matches the config: override dropped' });

      // manage_groups (SFTPGo 2.7) reaches groups; view_users does not.
      expect((await api(s, 'GET', '/api/v2/groups', { admin: 'grouper' })).json.map((g: { name: string }) => g.name)).toEqual(['everyone', 'projects', 'staff']);
      expect((await api(s, 'GET', '/api/v2/groups', { admin: 'viewer' })).status).toBe(403);

      // POST with SFTPGo's body: provider numbers, empty backend blocks, zero values.
      const created = await api(s, 'POST', '/api/v2/groups', {
        admin: 'grouper',
        body: {
          name: 'ops',
          description: 'operators',
          user_settings: { home_dir: '', max_sessions: 0, quota_size: 0, permissions: { '/ops': ['list'] }, filters: { max_upload_file_size: 0, bandwidth_limits: [] }, filesystem: { provider: 0, s3config: {}, osconfig: {} } },
          virtual_folders: [],
        },
      });
      expect(created.json).toMatchObject({ name: 'ops' });
      expect(created.status).toBe(201);
      expect(created.headers.get('location')).toBe('/api/v2/groups/ops');
      expect(created.json).toMatchObject({ name: 'ops', description: 'operators', source: 'runtime', user_settings: { permissions: { '/ops': ['list'] } } });
      // A setting the group merge here does not apply is refused, not dropped.
      const refused = await api(s, 'POST', '/api/v2/groups', { body: { name: 'nope', user_settings: { filters: { bandwidth_limits: [{ sources: ['10.0.0.0/8'], upload_bandwidth: 1 }] } } } });
      expect(refused.status).toBe(400);
      expect(JSON.stringify(refused.json)).toContain('user_settings.filters.bandwidth_limits');

      // A group's filesystem speaks SFTPGo's shape: provider numbers, redacted secrets kept by a PUT.
      const s3 = { provider: 1, s3config: { bucket: 'b', region: 'r', key_prefix: 'users/%username%/', access_key: 'k', access_secret: { status: 'Plain', payload: 'group-s3-secret' } } };
      expect((await api(s, 'POST', '/api/v2/groups', { body: { name: 'cloud', user_settings: { filesystem: s3 } } })).status).toBe(201);
      const cloud = (await api(s, 'GET', '/api/v2/groups/cloud')).json;
      expect(cloud.user_settings.filesystem).toMatchObject({ provider: 1, s3config: { bucket: 'b', key_prefix: 'users/%username%/', access_secret: { status: 'Redacted' } } });
      expect(JSON.stringify(cloud)).not.toContain('group-s3-secret');
      expect((await api(s, 'PUT', '/api/v2/groups/cloud', { body: { ...cloud, description: 'kept secret' } })).status).toBe(200);
      const dumped = await api(s, 'GET', '/api/v2/dumpdata');
      const stored = dumped.json.groups.find((g: { name: string }) => g.name === 'cloud');
      expect(stored).toMatchObject({ description: 'kept secret', user_settings: { filesystem: { provider: 's3', s3config: { access_secret: { sealed: expect.stringMatching(/^v1:/) } } } } });
      expect((await api(s, 'DELETE', '/api/v2/groups/cloud')).status).toBe(200);

      // PUT replaces: the description left out is gone.
      expect((await api(s, 'PUT', '/api/v2/groups/ops', { body: { name: 'ops', user_settings: { permissions: { '/ops': ['*'] } } } })).json.message).toBe('group updated');
      const ops = (await api(s, 'GET', '/api/v2/groups/ops')).json;
      expect(ops.description).toBeUndefined();
      expect(ops.user_settings.permissions).toEqual({ '/ops': ['*'] });

      // Users reference groups on input; unknown groups and two primaries are refused as SFTPGo refuses them.
      const unknown = await api(s, 'POST', '/api/v2/users', { body: { username: 'bob', password: PW, groups: [{ name: 'ghost', type: 2 }] } });
      expect(unknown.status).toBe(400);
      expect(unknown.json.error).toContain('groups[0].name: group "ghost" is not declared');
      const twoPrimaries = await api(s, 'POST', '/api/v2/users', { body: { username: 'bob', password: PW, groups: [{ name: 'ops', type: 1 }, { name: 'staff', type: 1 }] } });
      expect(twoPrimaries.status).toBe(400);
      expect(twoPrimaries.json.error).toContain('only one primary group is allowed');
      const bob = await api(s, 'POST', '/api/v2/users', { body: { username: 'bob', password: PW, groups: [{ name: 'ops', type: 2 }] } });
      expect(bob.status).toBe(201);
      expect(bob.json.groups).toEqual([{ name: 'ops', type: 2 }]);
      expect((await api(s, 'GET', '/api/v2/groups/ops')).json.users).toEqual(['bob']);

      // As SFTPGo: a group users still map cannot be deleted.
      const busy = await api(s, 'DELETE', '/api/v2/groups/ops');
      expect(busy.status).toBe(400);
      expect(busy.json.error).toContain('the group "ops" is referenced');
      expect((await api(s, 'DELETE', '/api/v2/users/bob')).status).toBe(200);
      expect((await api(s, 'DELETE', '/api/v2/groups/ops')).status).toBe(200);
      expect((await api(s, 'GET', '/api/v2/groups/ops')).status).toBe(404);
      // A group the YAML declares is removed there.
      expect((await api(s, 'DELETE', '/api/v2/groups/everyone')).status).toBe(409);

      // An API edit of a config group is an override, and the next login sees it.
      const edited = { ...staff.json, user_settings: { ...staff.json.user_settings, permissions: { '/': ['*'] } } };
      expect((await api(s, 'PUT', '/api/v2/groups/staff', { body: edited })).json.message).toBe('group override saved');
      const local = join(tempDir(), 'f.txt');
      writeFileSync(local, 'x');
      expect((await sftp(s, [`put ${local} /top.txt`])).status).toBe(0);
      expect(existsSync(join(s.dir, 'homes/ann/top.txt'))).toBe(true);
      expect((await api(s, 'DELETE', '/api/v2/overrides/groups/staff')).status).toBe(200);
      expect((await sftp(s, [`put ${local} /top2.txt`])).status).not.toBe(0);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  test('a group the YAML drops while an API-created user still maps it is refused at reload and in plan, and the running state stays', async () => {
    const { s, server } = await setup();
    try {
      expect((await api(s, 'POST', '/api/v2/users', { body: { username: 'bob', password: PW, home_dir: join(s.dir, 'homes/bob'), permissions: { '/': ['*'] }, groups: [{ name: 'everyone', type: 3 }] } })).status).toBe(201);
      // The YAML drops "everyone" (and ann's membership of it).
      const dropped = yaml(s, '"list", "download"').replace('  - name: everyone\n', '').replace('      - { name: everyone, type: 3 }\n', '');
      expect(dropped).not.toContain('everyone');
      writeFileSync(server.configPath, dropped);
      const plan = runCli(['plan', '--config', server.configPath, '--data-dir', join(s.dir, 'data')]);
      expect(plan.code).not.toBe(0);
      expect(plan.stderr + plan.stdout).toContain('the group "everyone" is referenced, it cannot be removed (users: bob)');
      server.proc.kill('SIGHUP');
      const failed = await server.waitForLog((l) => l.event === 'reload_failed' || l.event === 'reload_applied');
      expect(failed.event).toBe('reload_failed');
      expect(String(failed.error)).toContain('(users: bob)');
      // Nothing of the reload was applied: the group and ann's membership are still there.
      expect((await api(s, 'GET', '/api/v2/groups/everyone')).json.users).toEqual(['ann', 'bob']);
      expect((await sftp(s, ['ls /'])).status).toBe(0);

      // Once bob no longer maps it, the same file applies.
      expect((await api(s, 'PUT', '/api/v2/users/bob', { body: { username: 'bob', home_dir: join(s.dir, 'homes/bob'), permissions: { '/': ['*'] }, groups: [] } })).status).toBe(200);
      server.proc.kill('SIGHUP');
      expect(await server.waitForLog((l) => l.event === 'reload_applied')).toMatchObject({ delete: 1 });
      expect((await api(s, 'GET', '/api/v2/groups/everyone')).status).toBe(404);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  test('plan names the users a group change affects; dumpdata and loaddata keep groups', async () => {
    const { s, server } = await setup();
    await server.stop();
    const configPath = join(s.dir, 'sftpgo.yaml');
    const dataDir = join(s.dir, 'data');
    writeFileSync(configPath, yaml(s, '"*"').replace('max_sessions: 5', 'max_sessions: 2'));
    const plan = runCli(['plan', '--config', configPath, '--data-dir', dataDir]);
    expect(plan.stdout).toContain('~ group staff (user_settings): 1 user affected');
    const json = JSON.parse(runCli(['plan', '--json', '--config', configPath, '--data-dir', dataDir]).stdout);
    expect(json.changes).toContainEqual({ action: 'update', kind: 'group', name: 'staff', fields: ['user_settings'], members: ['ann'] });

    const dump = runCli(['dumpdata', '--data-dir', dataDir]);
    const d = JSON.parse(dump.stdout);
    expect(d.groups.map((g: { name: string }) => g.name)).toEqual(['everyone', 'projects', 'staff']);
    const file = join(s.dir, 'dump.json');
    writeFileSync(file, dump.stdout);
    const other = join(s.dir, 'other-data');
    expect(runCli(['initprovider', '--data-dir', other]).code).toBe(0);
    const loaded = runCli(['loaddata', '--input', file, '--data-dir', other]);
    expect(loaded.stdout).toContain('3 groups');
    const again = JSON.parse(runCli(['dumpdata', '--data-dir', other]).stdout);
    expect(again.groups).toEqual(d.groups);
  });

  test('an SFTPGo backup\'s groups are imported and its users\' mappings take effect at login', async () => {
    const dir = tempDir('groups-import-');
    const sftpPort = await freePort();
    const apiPort = await freePort();
    const s: Setup = { dir, sftpPort, apiPort, shared: join(dir, 'shared'), extra: join(dir, 'extra') };
    const server = await startServer({
      yaml: `sftpd:\n  bindings: [{ address: 127.0.0.1, port: ${sftpPort} }]\nhttpd:\n  bindings: [{ address: 127.0.0.1, port: ${apiPort} }]\ndata_provider:\n  password_hashing: { bcrypt_options: { cost: 4 } }\nadmins:\n  - { username: root, password: "${ADMIN_PW}", permissions: ["*"] }\n`,
      cwd: dir,
    });
    try {
      const backup = {
        version: 17,
        folders: [{ id: 1, name: 'drop', mapped_path: join(dir, 'drop'), filesystem: { provider: 0 }, users: [], groups: ['uploaders'] }],
        groups: [
          {
            id: 1, name: 'uploaders', description: 'from SFTPGo', created_at: 1717000000000, updated_at: 1717000000000, users: ['ann'], admins: [],
            user_settings: { home_dir: join(dir, 'homes/%username%'), max_sessions: 0, quota_size: 0, permissions: { '/': ['list', 'upload'] }, filters: { max_upload_file_size: 0, bandwidth_limits: [] }, filesystem: { provider: 0, osconfig: {}, s3config: {} } },
            virtual_folders: [{ id: 1, name: 'drop', mapped_path: join(dir, 'drop'), filesystem: { provider: 0 }, virtual_path: '/drop', quota_size: -1, quota_files: -1 }],
          },
        ],
        users: [{ id: 1, username: 'ann', status: 1, password: PW, home_dir: join(dir, 'unused'), permissions: { '/': ['list'] }, groups: [{ name: 'uploaders', type: 1 }], filesystem: { provider: 0 } }],
      };
      const r = await api(s, 'POST', '/api/v2/loaddata?from=sftpgo', { body: backup });
      expect(r.status).toBe(200);
      expect(r.json).toMatchObject({ users: 1, groups: 1, folders: 1 });
      expect(JSON.stringify(r.json.warnings ?? [])).not.toContain('groups are not supported');
      expect((await api(s, 'GET', '/api/v2/groups/uploaders')).json).toMatchObject({ description: 'from SFTPGo', users: ['ann'], virtual_folders: [{ name: 'drop', virtual_path: '/drop' }] });

      const local = join(tempDir(), 'f.txt');
      writeFileSync(local, 'imported\n');
      const put = await sftp(s, [`put ${local} /up.txt`, `put ${local} /drop/d.txt`]);
      expect(put.status).toBe(0);
      expect(readFileSync(join(dir, 'homes/ann/up.txt'), 'utf8')).toBe('imported\n');
      expect(readFileSync(join(dir, 'drop/d.txt'), 'utf8')).toBe('imported\n');
      expect(existsSync(join(dir, 'unused/up.txt'))).toBe(false);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  test('a user a pre-login hook creates with a group mapping logs in with the group\'s settings; the hook sees the user\'s own record', async () => {
    const dir = tempDir('groups-hook-');
    const sftpPort = await freePort();
    const hook = join(dir, 'pre-login.sh');
    writeFileSync(hook, `#!/bin/sh\nprintf '%s' "$SFTPGO_LOGIND_USER" >> '${dir}/seen'\necho >> '${dir}/seen'\nprintf '{"username":"hooked","password":"${PW}","groups":[{"name":"staff","type":1}]}'\n`);
    chmodSync(hook, 0o755);
    const server = await startServer({
      yaml: `sftpd:\n  bindings: [{ address: 127.0.0.1, port: ${sftpPort} }]\ndata_provider:\n  pre_login_hook: ${hook}\n  password_hashing: { bcrypt_options: { cost: 4 } }\ngroups:\n  - name: staff\n    user_settings:\n      home_dir: "${dir}/homes/%username%"\n      permissions: { "/": ["*"] }\n`,
      cwd: dir,
    });
    try {
      const local = join(tempDir(), 'f.txt');
      writeFileSync(local, 'hooked\n');
      expect((await sftp({ sftpPort }, [`put ${local} /h.txt`], 'hooked')).status).toBe(0);
      expect(readFileSync(join(dir, 'homes/hooked/h.txt'), 'utf8')).toBe('hooked\n');
      expect((await sftp({ sftpPort }, ['ls /'], 'hooked')).status).toBe(0);
      // The second run was shown the stored user: its mappings, not the group's home merged in.
      const second = JSON.parse(readFileSync(join(dir, 'seen'), 'utf8').split('\n')[1]!);
      expect(second.groups).toEqual([{ name: 'staff', type: 1 }]);
      expect(second.home_dir).not.toContain('/homes/');
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });
});
