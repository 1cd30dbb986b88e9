// Atomic uploads (common.upload_mode atomic and atomic_resume) and common.temp_path against the
// real server run as a process: 20 concurrent SFTP uploads are cut by a kill -9, and the restarted
// server must have removed every temporary file (from the home, or from temp_path), list none
// over SFTP, FTP and WebDAV, keep the files the uploads would have replaced, and count exactly the
// visible files in the user's quota (the same as a quota scan finds). While uploads run, their
// temporary files are invisible and unreachable by name on every protocol.
// `bun src/main.ts serve` by default; SFTPGO_TEST_BINARY=dist/sftpgo runs the compiled binary.
import { afterAll, describe, expect, test } from 'bun:test';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Client, type SFTPWrapper } from '../../../src/lib/ssh2.ts';
import { isTempName } from '../../../src/vfs/temp-names.ts';
import { FtpControl } from '../../support/ftp-client.ts';
import { freePort } from '../../support/net.ts';
import { freeProtocolPorts, protocolsYaml, type ProtocolPorts } from '../../support/protocols.ts';
import { startServer, type RunningServer } from '../../support/server.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';
import { usersYaml } from '../../support/users.ts';

const PASSWORD = 'atomic-Temp-1';
const API_KEY = 'k3y-atomic-temp-0123456789abcdef';
const UPLOADS = 20;
const CHUNK = 256 * 1024;
const BINARY = process.env.SFTPGO_TEST_BINARY ? resolve(process.env.SFTPGO_TEST_BINARY) : undefined;

const servers: RunningServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.stop('SIGKILL');
  removeTempDirs();
});

interface Setup {
  dir: string;
  home: string;
  ports: ProtocolPorts & { api: number };
  yaml: string;
}

async function setup(common: string): Promise<Setup> {
  const dir = tempDir('atomic-temp-');
  const ports = { ...(await freeProtocolPorts({ passive: true })), api: await freePort() };
  const users = usersYaml(dir, [{ username: 'alice' }], PASSWORD);
  const yaml = `${protocolsYaml(ports)}
httpd:
  bindings: [{ address: 127.0.0.1, port: ${ports.api} }]
common:
${common}
data_provider:
  password_hashing: { bcrypt_options: { cost: 4 } }
users:
${users.yaml}
admins:
  - username: robot
    permissions: ["*"]
    api_keys: [{ name: test, key: "${API_KEY}" }]
`;
  return { dir, home: users.homes.alice!, ports, yaml };
}

async function start(s: Setup): Promise<RunningServer> {
  const server = await startServer({ yaml: s.yaml, cwd: s.dir, ...(BINARY ? { binary: BINARY } : {}) });
  servers.push(server);
  return server;
}

function sftpLogin(port: number): Promise<{ client: InstanceType<typeof Client>; sftp: SFTPWrapper }> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    client.on('error', reject);
    client.once('ready', () => client.sftp((err, sftp) => (err ? reject(err) : resolve({ client, sftp }))));
    client.connect({ host: '127.0.0.1', port, username: 'alice', password: PASSWORD, readyTimeout: 10_000 });
  });
}

const open = (sftp: SFTPWrapper, path: string) => new Promise<Buffer>((res, rej) => sftp.open(path, 'w', (err, h) => (err ? rej(err) : res(h))));
const write = (sftp: SFTPWrapper, h: Buffer, data: Buffer, pos: number) =>
  new Promise<void>((res, rej) => sftp.write(h, data, 0, data.length, pos, (err) => (err ? rej(err) : res())));
const closeHandle = (sftp: SFTPWrapper, h: Buffer) => new Promise<void>((res, rej) => sftp.close(h, (err) => (err ? rej(err) : res())));
const sftpNames = (sftp: SFTPWrapper, dir = '/') =>
  new Promise<string[]>((res, rej) => sftp.readdir(dir, (err, list) => (err ? rej(err) : res(list.map((e) => e.filename).sort()))));
/** The SFTP status code a stat of `path` fails with (2 is SSH_FX_NO_SUCH_FILE), or 0. */
const statCode = (sftp: SFTPWrapper, path: string) =>
  new Promise<number>((res) => sftp.stat(path, (err) => res(err ? ((err as { code?: number }).code ?? -1) : 0)));

async function upload(sftp: SFTPWrapper, path: string, data: Buffer): Promise<void> {
  const h = await open(sftp, path);
  await write(sftp, h, data, 0);
  await closeHandle(sftp, h);
}

/** Names in a directory on disk, temporary ones apart. */
function onDisk(dir: string): { files: string[]; temps: string[] } {
  const all = existsSync(dir) ? readdirSync(dir).sort() : [];
  return { files: all.filter((n) => !isTempName(n)), temps: all.filter(isTempName) };
}

async function ftpNames(port: number): Promise<{ list: string; mlsd: string; nlst: string[] }> {
  const ftp = await FtpControl.connect(port);
  try {
    expect((await ftp.login('alice', PASSWORD)).code).toBe(230);
    const list = (await ftp.transfer('LIST -a')).data.toString();
    const mlsd = (await ftp.transfer('MLSD')).data.toString();
    const nlst = (await ftp.transfer('NLST -a')).data.toString().split(/\r?\n/).filter(Boolean).sort();
    return { list, mlsd, nlst };
  } finally {
    ftp.close();
  }
}

async function ftpSizeCode(port: number, name: string): Promise<number> {
  const ftp = await FtpControl.connect(port);
  try {
    await ftp.login('alice', PASSWORD);
    return (await ftp.send(`SIZE ${name}`)).code;
  } finally {
    ftp.close();
  }
}

const davAuth = { Authorization: `Basic ${Buffer.from(`alice:${PASSWORD}`).toString('base64')}` };

async function davNames(port: number): Promise<string[]> {
  const r = await fetch(`http://127.0.0.1:${port}/`, { method: 'PROPFIND', headers: { ...davAuth, Depth: '1' } });
  expect(r.status).toBe(207);
  const hrefs = [...(await r.text()).matchAll(/<(?:\w+:)?href>([^<]*)<\/(?:\w+:)?href>/g)].map((m) => decodeURIComponent(m[1]!));
  return hrefs.map((h) => h.replace(/^.*\/(?=[^/]+$)/, '')).filter((h) => h !== '/' && h !== '').sort();
}

async function api(port: number, method: string, path: string): Promise<{ status: number; json: Record<string, unknown> & unknown[] }> {
  const r = await fetch(`http://127.0.0.1:${port}${path}`, { method, headers: { 'x-sftpgo-api-key': API_KEY } });
  return { status: r.status, json: (await r.json().catch(() => ({}))) as Record<string, unknown> & unknown[] };
}

async function usage(port: number): Promise<{ size: number; files: number }> {
  const u = (await api(port, 'GET', '/api/v2/quotas/users/alice/usage')).json;
  return { size: u.used_quota_size as number, files: u.used_quota_files as number };
}

/** Usage after a quota scan: what the storage really holds, as the server counts it. */
async function scannedUsage(port: number): Promise<{ size: number; files: number }> {
  expect((await api(port, 'POST', '/api/v2/quotas/users/alice/scan')).status).toBe(202);
  for (let i = 0; i < 200 && (await api(port, 'GET', '/api/v2/quotas/users/scans')).json.length > 0; i++) await Bun.sleep(25);
  return usage(port);
}

function visibleUsage(home: string): { size: number; files: number } {
  const { files } = onDisk(home);
  return { size: files.reduce((n, f) => n + statSync(join(home, f)).size, 0), files: files.length };
}

/** Seeds files through the server (so they are in the quota) and stops it cleanly. */
async function seed(s: Setup, files: Record<string, string>): Promise<void> {
  const server = await start(s);
  const { client, sftp } = await sftpLogin(s.ports.sftp);
  for (const [name, text] of Object.entries(files)) await upload(sftp, `/${name}`, Buffer.from(text));
  client.end();
  await server.stop();
}

/**
 * Starts UPLOADS uploads on one SSH connection, the first half over the seeded files, and
 * returns once each has written its first chunk (so its temporary file exists), leaving them open.
 */
async function startUploads(sftp: SFTPWrapper): Promise<{ handles: Buffer[]; names: string[] }> {
  const names = Array.from({ length: UPLOADS }, (_, i) => (i < UPLOADS / 2 ? `seed-${i}.txt` : `new-${i}.bin`));
  const handles = await Promise.all(names.map((n) => open(sftp, `/${n}`)));
  await Promise.all(handles.map((h) => write(sftp, h, Buffer.alloc(CHUNK, 7), 0)));
  return { handles, names };
}

const seeded = Object.fromEntries(Array.from({ length: UPLOADS / 2 }, (_, i) => [`seed-${i}.txt`, `previous content ${i}`]));

for (const mode of ['atomic', 'atomic_resume'] as const) {
  describe(`upload_mode ${mode}, no temp_path: kill -9 during ${UPLOADS} uploads`, () => {
    test('the restarted server leaves no temporary file, lists none, keeps the previous files and counts exact usage', async () => {
      const s = await setup(`  upload_mode: ${mode}`);
      await seed(s, seeded);
      const server = await start(s);
      const { sftp } = await sftpLogin(s.ports.sftp);
      const { handles } = await startUploads(sftp);

      // In flight: the temporary files are in the home, beside their targets...
      const during = onDisk(s.home);
      expect(during.temps).toHaveLength(UPLOADS);
      expect(during.files).toEqual(Object.keys(seeded).sort());
      // ...and no protocol lists them or reaches them by name.
      expect(await sftpNames(sftp)).toEqual(during.files);
      const ftp = await ftpNames(s.ports.ftp);
      expect(ftp.nlst).toEqual(during.files);
      expect(ftp.list).not.toContain('.sftpgo-upload');
      expect(ftp.mlsd).not.toContain('.sftpgo-upload');
      expect(await davNames(s.ports.dav)).toEqual(during.files);
      const guessed = during.temps[0]!;
      expect(await statCode(sftp, `/${guessed}`)).toBe(2);
      expect(await ftpSizeCode(s.ports.ftp, guessed)).toBe(550);
      expect((await fetch(`http://127.0.0.1:${s.ports.dav}/${guessed}`, { headers: davAuth })).status).toBe(404);
      expect((await fetch(`http://127.0.0.1:${s.ports.dav}/${guessed}`, { method: 'DELETE', headers: davAuth })).status).toBe(404);

      // More data on the way, and the server dies under it.
      for (const h of handles) void write(sftp, h, Buffer.alloc(CHUNK, 8), CHUNK).catch(() => undefined);
      await server.stop('SIGKILL');
      expect(onDisk(s.home).temps).toHaveLength(UPLOADS);

      const again = await start(s);
      const recovered = await again.waitForLog((l) => l.event === 'upload_journal_recovered');
      expect(recovered).toMatchObject({ removed: UPLOADS, already_gone: 0 });
      const after = onDisk(s.home);
      expect(after.temps).toEqual([]);
      expect(after.files).toEqual(Object.keys(seeded).sort());
      // The files the cut uploads would have replaced are intact.
      for (const [name, text] of Object.entries(seeded)) expect(readFileSync(join(s.home, name), 'utf8')).toBe(text);
      const { client, sftp: sftp2 } = await sftpLogin(s.ports.sftp);
      expect(await sftpNames(sftp2)).toEqual(after.files);
      client.end();
      expect((await ftpNames(s.ports.ftp)).nlst).toEqual(after.files);
      expect(await davNames(s.ports.dav)).toEqual(after.files);
      // Usage is what is visible, before and after a scan recomputes it from the disk.
      const visible = visibleUsage(s.home);
      expect(await usage(s.ports.api)).toEqual(visible);
      expect(await scannedUsage(s.ports.api)).toEqual(visible);
      await again.stop();
    }, 120_000);
  });
}

describe('upload_mode atomic over the SFTP backend, when the remote server is one of ours', () => {
  test("the upload lands: the remote accepts the backend's staging names it reserves nothing for", async () => {
    const remote = await setup('  upload_mode: atomic');
    const remoteServer = await start(remote);
    const front = await setup('  upload_mode: atomic');
    front.yaml = front.yaml.replace(
      /(home_dir: [^\n]*\n)/,
      `$1    filesystem: { provider: sftp, sftpconfig: { endpoint: "127.0.0.1:${remote.ports.sftp}", username: alice, password: "${PASSWORD}" } }\n`,
    );
    const frontServer = await start(front);
    const { client, sftp } = await sftpLogin(front.ports.sftp);
    const h = await open(sftp, '/chained.bin');
    await write(sftp, h, Buffer.alloc(CHUNK, 5), 0);
    // In flight on the remote disk: staged under the backend pattern only.
    expect(onDisk(remote.home).temps.length).toBeGreaterThan(0);
    expect(onDisk(remote.home).temps.every((n) => /^\.sftpgo-upload-[0-9a-f]{16}$/.test(n) || n.startsWith('.sftpgo-upload.'))).toBe(true);
    expect(await sftpNames(sftp)).toEqual([]);
    await write(sftp, h, Buffer.alloc(CHUNK, 6), CHUNK);
    await closeHandle(sftp, h);
    client.end();
    expect(onDisk(remote.home)).toEqual({ files: ['chained.bin'], temps: [] });
    expect(statSync(join(remote.home, 'chained.bin')).size).toBe(2 * CHUNK);
    await frontServer.stop();
    await remoteServer.stop();
  }, 60_000);
});

describe('common.temp_path', () => {
  test('a partial upload is under temp_path, a completed one lands in place, a failed one leaves nothing', async () => {
    const s = await setup('  upload_mode: atomic\n  temp_path: uploads-tmp');
    const server = await start(s);
    // Relative to the data dir, and created at start.
    const staging = join(server.dataDir, 'uploads-tmp');
    expect(statSync(staging).isDirectory()).toBe(true);
    const { client, sftp } = await sftpLogin(s.ports.sftp);

    const h = await open(sftp, '/done.bin');
    await write(sftp, h, Buffer.alloc(CHUNK, 1), 0);
    expect(onDisk(staging).temps).toHaveLength(1);
    expect(onDisk(s.home)).toEqual({ files: [], temps: [] });
    await write(sftp, h, Buffer.alloc(CHUNK, 2), CHUNK);
    await closeHandle(sftp, h);
    expect(onDisk(s.home)).toEqual({ files: ['done.bin'], temps: [] });
    expect(statSync(join(s.home, 'done.bin')).size).toBe(2 * CHUNK);
    expect(readdirSync(staging)).toEqual([]);

    // A client that goes away mid-upload: the upload fails and its file goes.
    const h2 = await open(sftp, '/cut.bin');
    await write(sftp, h2, Buffer.alloc(CHUNK, 3), 0);
    expect(onDisk(staging).temps).toHaveLength(1);
    client.end();
    for (let i = 0; i < 200 && readdirSync(staging).length > 0; i++) await Bun.sleep(25);
    expect(readdirSync(staging)).toEqual([]);
    expect(onDisk(s.home)).toEqual({ files: ['done.bin'], temps: [] });
    expect(await usage(s.ports.api)).toEqual({ size: 2 * CHUNK, files: 1 });
    await server.stop();
  }, 60_000);

  test('with upload_mode standard it is unused, and serve says so', async () => {
    const s = await setup('  upload_mode: standard\n  temp_path: uploads-tmp');
    const server = await start(s);
    expect(await server.waitForLog((l) => l.event === 'temp_path_unused')).toMatchObject({ temp_path: join(server.dataDir, 'uploads-tmp') });
    await server.stop();
  }, 60_000);

  test('kill -9 during uploads: the restarted server empties temp_path of them; the home never had any', async () => {
    const s = await setup('  upload_mode: atomic_resume\n  temp_path: uploads-tmp');
    await seed(s, seeded);
    const server = await start(s);
    const staging = join(server.dataDir, 'uploads-tmp');
    const { sftp } = await sftpLogin(s.ports.sftp);
    await startUploads(sftp);
    expect(onDisk(staging).temps).toHaveLength(UPLOADS);
    expect(onDisk(s.home).temps).toEqual([]);
    await server.stop('SIGKILL');

    const again = await start(s);
    expect(await again.waitForLog((l) => l.event === 'upload_journal_recovered')).toMatchObject({ removed: UPLOADS });
    expect(readdirSync(staging)).toEqual([]);
    expect(onDisk(s.home)).toEqual({ files: Object.keys(seeded).sort(), temps: [] });
    for (const [name, text] of Object.entries(seeded)) expect(readFileSync(join(s.home, name), 'utf8')).toBe(text);
    const visible = visibleUsage(s.home);
    expect(await usage(s.ports.api)).toEqual(visible);
    expect(await scannedUsage(s.ports.api)).toEqual(visible);
    await again.stop();
  }, 120_000);
});
