// Custom actions with an HTTP hook: every event's JSON body, field by field, as real clients cause
// it over SFTP, SCP, SSH commands, FTP and WebDAV; first-upload/first-download once per user.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FtpControl } from '../../support/ftp-client.ts';
import { freePort } from '../../support/net.ts';
import { run } from '../../support/run.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';
import { PASSWORD, remote, scp, sftpBatch, ssh, startSftpd, type Sftpd } from '../sftp/harness.ts';
import { is, Receiver, type Body } from './receiver.ts';

const ALL = ['upload', 'pre-upload', 'download', 'pre-download', 'delete', 'pre-delete', 'rename', 'mkdir', 'rmdir', 'ssh_cmd', 'first-upload', 'first-download'];

let s: Sftpd;
let rx: Receiver;
let local: string;
let home: string;
let ftpPort: number;
let davPort: number;

beforeAll(async () => {
  rx = await Receiver.start();
  ftpPort = await freePort();
  davPort = await freePort();
  const extra = [
    'common:',
    '  actions:',
    `    execute_on: [${ALL.join(', ')}]`,
    `    hook: ${rx.url}`,
    '    timeout: 10',
    'ftpd:',
    `  bindings: [{ address: 127.0.0.1, port: ${ftpPort} }]`,
    'webdavd:',
    `  bindings: [{ address: 127.0.0.1, port: ${davPort} }]`,
  ].join('\n');
  s = await startSftpd([{ username: 'alice' }, { username: 'bob' }, { username: 'carol', extra: '    quota_size: 1000\n' }], extra);
  local = tempDir('actions-local-');
  home = s.users.alice!.home;
});

afterAll(async () => {
  await s?.server.stop();
  await rx?.stop();
  removeTempDirs();
});

/** Nanoseconds since the epoch, as the timestamp field carries them. */
const nsNow = (): number => Date.now() * 1e6;

/** The fields every event carries for alice on local storage. */
function expectCommon(b: Body, fields: { action: string; vpath: string; protocol: string; since: number }): void {
  expect(b.action).toBe(fields.action);
  expect(b.username).toBe('alice');
  expect(b.virtual_path).toBe(fields.vpath);
  expect(b.path).toBe(join(home, fields.vpath));
  expect(b.fs_provider).toBe(0);
  expect(b.protocol).toBe(fields.protocol);
  expect(b.ip).toBe('127.0.0.1');
  expect(b.session_id).toMatch(/^[0-9a-f]{16}$/);
  expect(typeof b.timestamp).toBe('number');
  expect(b.timestamp as number).toBeGreaterThanOrEqual(fields.since - 1e6);
  expect(b.timestamp as number).toBeLessThanOrEqual(nsNow());
  // Local storage has no bucket or endpoint: the fields are left out, as SFTPGo does.
  expect(b.bucket).toBeUndefined();
  expect(b.endpoint).toBeUndefined();
}

describe('SFTP', () => {
  test('upload: pre-upload, upload and first-upload, with sizes, status and open flags', async () => {
    const data = randomBytes(12_345);
    writeFileSync(join(local, 'up.bin'), data);
    const since = nsNow();
    const r = await sftpBatch(s, 'alice', [`put ${join(local, 'up.bin')} up.bin`]);
    expect(r.status).toBe(0);
    const pre = await rx.waitFor(is('pre-upload', '/up.bin'));
    expectCommon(pre, { action: 'pre-upload', vpath: '/up.bin', protocol: 'SFTP', since });
    expect(pre.file_size).toBeUndefined(); // a new file: nothing is replaced
    expect(pre.open_flags).toBe(0x1 | 0x40 | 0x200); // O_WRONLY|O_CREAT|O_TRUNC
    expect(pre.status).toBe(1);
    const up = await rx.waitFor(is('upload', '/up.bin'));
    expectCommon(up, { action: 'upload', vpath: '/up.bin', protocol: 'SFTP', since });
    expect(up.file_size).toBe(12_345);
    expect(up.status).toBe(1);
    expect(up.session_id).toBe(pre.session_id);
    expect(up.target_path).toBeUndefined();
    expect(up.ssh_cmd).toBeUndefined();
    expect(typeof up.elapsed).toBe('number');
    const first = await rx.waitFor(is('first-upload', '/up.bin'));
    expectCommon(first, { action: 'first-upload', vpath: '/up.bin', protocol: 'SFTP', since });
    expect(first.file_size).toBe(12_345);
    expect(first.session_id).toBe(up.session_id);
  });

  test('first-upload fires once per user: not for a later upload in a new session', async () => {
    writeFileSync(join(local, 'second.txt'), 'second');
    expect((await sftpBatch(s, 'alice', [`put ${join(local, 'second.txt')} second.txt`])).status).toBe(0);
    await rx.waitFor(is('upload', '/second.txt'));
    // The upload event is queued before any first-upload would be; give the queue one more event.
    expect((await sftpBatch(s, 'alice', ['mkdir fence1'])).status).toBe(0);
    await rx.waitFor(is('mkdir', '/fence1'));
    expect(rx.bodies((b) => b.action === 'first-upload' && b.username === 'alice')).toHaveLength(1);
  });

  test('overwrite: pre-upload reports the size being replaced', async () => {
    writeFileSync(join(local, 'small.txt'), 'abc');
    const since = nsNow();
    expect((await sftpBatch(s, 'alice', [`put ${join(local, 'small.txt')} up.bin`])).status).toBe(0);
    const pre = await rx.waitFor((b) => is('pre-upload', '/up.bin')(b) && (b.timestamp as number) >= since);
    expect(pre.file_size).toBe(12_345);
    const up = await rx.waitFor((b) => is('upload', '/up.bin')(b) && (b.timestamp as number) >= since);
    expect(up.file_size).toBe(3);
  });

  test('download: pre-download, download and first-download', async () => {
    const since = nsNow();
    const r = await sftpBatch(s, 'alice', [`get second.txt ${join(local, 'second.back')}`]);
    expect(r.status).toBe(0);
    const pre = await rx.waitFor(is('pre-download', '/second.txt'));
    expectCommon(pre, { action: 'pre-download', vpath: '/second.txt', protocol: 'SFTP', since });
    expect(pre.file_size).toBe(6);
    const down = await rx.waitFor(is('download', '/second.txt'));
    expectCommon(down, { action: 'download', vpath: '/second.txt', protocol: 'SFTP', since });
    expect(down.file_size).toBe(6);
    expect(down.status).toBe(1);
    const first = await rx.waitFor(is('first-download', '/second.txt'));
    expect(first.file_size).toBe(6);
    expect(first.session_id).toBe(down.session_id);
  });

  test('rename reports both backend and virtual targets', async () => {
    const since = nsNow();
    expect((await sftpBatch(s, 'alice', ['rename second.txt renamed.txt'])).status).toBe(0);
    const b = await rx.waitFor(is('rename', '/second.txt'));
    expectCommon(b, { action: 'rename', vpath: '/second.txt', protocol: 'SFTP', since });
    expect(b.target_path).toBe(join(home, 'renamed.txt'));
    expect(b.virtual_target_path).toBe('/renamed.txt');
    expect(b.status).toBe(1);
  });

  test('mkdir and rmdir', async () => {
    const since = nsNow();
    expect((await sftpBatch(s, 'alice', ['mkdir dir1', 'rmdir dir1'])).status).toBe(0);
    const mk = await rx.waitFor(is('mkdir', '/dir1'));
    expectCommon(mk, { action: 'mkdir', vpath: '/dir1', protocol: 'SFTP', since });
    expect(mk.file_size).toBeUndefined();
    const rm = await rx.waitFor(is('rmdir', '/dir1'));
    expectCommon(rm, { action: 'rmdir', vpath: '/dir1', protocol: 'SFTP', since });
    expect(rm.session_id).toBe(mk.session_id);
  });

  test('delete: pre-delete then delete, with the size removed', async () => {
    const since = nsNow();
    expect((await sftpBatch(s, 'alice', ['rm renamed.txt'])).status).toBe(0);
    const pre = await rx.waitFor(is('pre-delete', '/renamed.txt'));
    expectCommon(pre, { action: 'pre-delete', vpath: '/renamed.txt', protocol: 'SFTP', since });
    expect(pre.file_size).toBe(6);
    const del = await rx.waitFor(is('delete', '/renamed.txt'));
    expectCommon(del, { action: 'delete', vpath: '/renamed.txt', protocol: 'SFTP', since });
    expect(del.file_size).toBe(6);
    expect(existsSync(join(home, 'renamed.txt'))).toBe(false);
  });

  test('a failed delete (missing file) reports nothing', async () => {
    expect((await sftpBatch(s, 'alice', ['-rm nothere.txt', 'mkdir fence2'])).status).toBe(0);
    await rx.waitFor(is('mkdir', '/fence2'));
    expect(rx.bodies((b) => b.virtual_path === '/nothere.txt')).toEqual([]);
  });
});

describe('quota', () => {
  test('an upload cut by the quota reports status 3', async () => {
    writeFileSync(join(local, 'big.bin'), randomBytes(5000));
    const r = await sftpBatch(s, 'carol', [`put ${join(local, 'big.bin')} big.bin`]);
    expect(r.status).not.toBe(0);
    const b = await rx.waitFor((x) => x.action === 'upload' && x.username === 'carol');
    expect(b.virtual_path).toBe('/big.bin');
    expect(b.status).toBe(3);
    expect(b.protocol).toBe('SFTP');
    // A failed upload is no first upload.
    expect(rx.bodies((x) => x.action === 'first-upload' && x.username === 'carol')).toEqual([]);
  });
});

describe('SSH commands and SCP', () => {
  test('ssh sha256sum reports ssh_cmd with the file and status', async () => {
    writeFileSync(join(home, 'sum.txt'), 'hash me');
    const since = nsNow();
    const r = await ssh(s, 'alice', ['sha256sum', 'sum.txt']);
    expect(r.status).toBe(0);
    const b = await rx.waitFor(is('ssh_cmd', '/sum.txt'));
    expectCommon(b, { action: 'ssh_cmd', vpath: '/sum.txt', protocol: 'SSH', since });
    expect(b.ssh_cmd).toBe('sha256sum');
    expect(b.status).toBe(1);
  });

  test('a failing ssh command reports status 2', async () => {
    const r = await ssh(s, 'alice', ['md5sum', 'missing.txt']);
    expect(r.status).not.toBe(0);
    const b = await rx.waitFor(is('ssh_cmd', '/missing.txt'));
    expect(b.ssh_cmd).toBe('md5sum');
    expect(b.status).toBe(2);
  });

  test('scp reports upload and download with protocol SCP, and no ssh_cmd', async () => {
    writeFileSync(join(local, 'scp.txt'), 'over scp');
    expect((await scp(s, 'alice', [join(local, 'scp.txt'), `${remote(s, 'alice')}:scp.txt`])).status).toBe(0);
    const up = await rx.waitFor(is('upload', '/scp.txt'));
    expect(up.protocol).toBe('SCP');
    expect(up.file_size).toBe(8);
    expect(up.path).toBe(join(home, 'scp.txt'));
    expect((await scp(s, 'alice', [`${remote(s, 'alice')}:scp.txt`, join(local, 'scp.back')])).status).toBe(0);
    const down = await rx.waitFor(is('download', '/scp.txt'));
    expect(down.protocol).toBe('SCP');
    expect(down.file_size).toBe(8);
    expect(rx.bodies((b) => b.action === 'ssh_cmd' && b.ssh_cmd === 'scp')).toEqual([]);
  });
});

describe('every protocol reports the same events', () => {
  test('FTP: upload, rename, mkdir, delete', async () => {
    const c = await FtpControl.connect(ftpPort);
    try {
      expect((await c.login('alice', PASSWORD)).code).toBe(230);
      const since = nsNow();
      const stor = await c.transfer('STOR ftp.txt', Buffer.from('via ftp!'));
      expect(stor.last?.code).toBe(226);
      const up = await rx.waitFor(is('upload', '/ftp.txt'));
      expectCommon(up, { action: 'upload', vpath: '/ftp.txt', protocol: 'FTP', since });
      expect(up.file_size).toBe(8);
      expect((await c.send('MKD ftpdir')).code).toBe(257);
      expectCommon(await rx.waitFor(is('mkdir', '/ftpdir')), { action: 'mkdir', vpath: '/ftpdir', protocol: 'FTP', since });
      expect((await c.send('RNFR ftp.txt')).code).toBe(350);
      expect((await c.send('RNTO ftpdir/moved.txt')).code).toBe(250);
      const ren = await rx.waitFor(is('rename', '/ftp.txt'));
      expect(ren.virtual_target_path).toBe('/ftpdir/moved.txt');
      expect(ren.target_path).toBe(join(home, 'ftpdir/moved.txt'));
      expect((await c.send('DELE ftpdir/moved.txt')).code).toBe(250);
      const del = await rx.waitFor(is('delete', '/ftpdir/moved.txt'));
      expect(del.protocol).toBe('FTP');
      expect(del.file_size).toBe(8);
    } finally {
      c.close();
    }
  });

  test('WebDAV: PUT, GET, MKCOL, MOVE, DELETE', async () => {
    const base = `http://127.0.0.1:${davPort}`;
    const cu = (args: string[]) => run('curl', ['-sS', '--max-time', '30', '-o', '/dev/null', '-w', '%{http_code}', '-u', `alice:${PASSWORD}`, ...args]);
    const since = nsNow();
    expect((await cu(['-T', '-', `${base}/dav.txt`])).stdout).toMatch(/^20[14]$/);
    writeFileSync(join(local, 'dav.txt'), 'dav body');
    expect((await cu(['-T', join(local, 'dav.txt'), `${base}/dav2.txt`])).stdout).toMatch(/^20[14]$/);
    const up = await rx.waitFor(is('upload', '/dav2.txt'));
    expectCommon(up, { action: 'upload', vpath: '/dav2.txt', protocol: 'DAV', since });
    expect(up.file_size).toBe(8);
    expect((await cu([`${base}/dav2.txt`])).stdout).toBe('200');
    const down = await rx.waitFor(is('download', '/dav2.txt'));
    expect(down.protocol).toBe('DAV');
    expect(down.file_size).toBe(8);
    expect((await cu(['-X', 'MKCOL', `${base}/davdir`])).stdout).toBe('201');
    expect((await rx.waitFor(is('mkdir', '/davdir'))).protocol).toBe('DAV');
    expect((await cu(['-X', 'MOVE', '-H', `Destination: ${base}/davdir/m.txt`, `${base}/dav2.txt`])).stdout).toBe('201');
    expect((await rx.waitFor(is('rename', '/dav2.txt'))).virtual_target_path).toBe('/davdir/m.txt');
    expect((await cu(['-X', 'DELETE', `${base}/davdir/m.txt`])).stdout).toBe('204');
    expect((await rx.waitFor(is('delete', '/davdir/m.txt'))).file_size).toBe(8);
  });

  test('first-upload and first-download are per user: bob gets his own', async () => {
    mkdirSync(s.users.bob!.home, { recursive: true });
    writeFileSync(join(local, 'bob.txt'), 'bob');
    expect((await sftpBatch(s, 'bob', [`put ${join(local, 'bob.txt')} bob.txt`, `get bob.txt ${join(local, 'bob.back')}`])).status).toBe(0);
    const fu = await rx.waitFor((b) => b.action === 'first-upload' && b.username === 'bob');
    expect(fu.virtual_path).toBe('/bob.txt');
    expect(fu.path).toBe(join(s.users.bob!.home, 'bob.txt'));
    expect((await rx.waitFor((b) => b.action === 'first-download' && b.username === 'bob')).virtual_path).toBe('/bob.txt');
    expect(rx.bodies((b) => b.action === 'first-download' && b.username === 'alice')).toHaveLength(1);
  });
});

describe('an HTTP receiver that answers 500', () => {
  test('refuses pre-upload, pre-download and pre-delete; nothing changes', async () => {
    writeFileSync(join(home, 'kept.txt'), 'kept');
    writeFileSync(join(local, 'new.txt'), 'new');
    rx.status = 500;
    try {
      const up = await sftpBatch(s, 'alice', [`put ${join(local, 'new.txt')} new.txt`]);
      expect(up.status).not.toBe(0);
      expect(up.stderr).toMatch(/Permission denied/);
      const down = await sftpBatch(s, 'alice', [`get kept.txt ${join(local, 'kept.back')}`]);
      expect(down.status).not.toBe(0);
      const rm = await sftpBatch(s, 'alice', ['rm kept.txt']);
      expect(rm.status).not.toBe(0);
    } finally {
      rx.status = 200;
    }
    expect(existsSync(join(home, 'new.txt'))).toBe(false);
    expect(existsSync(join(local, 'kept.back'))).toBe(false);
    expect(existsSync(join(home, 'kept.txt'))).toBe(true);
    // Each was asked, and none went ahead.
    for (const [action, vpath] of [['pre-upload', '/new.txt'], ['pre-download', '/kept.txt'], ['pre-delete', '/kept.txt']] as const)
      expect(rx.bodies(is(action, vpath))).toHaveLength(1);
    expect(rx.bodies(is('upload', '/new.txt'))).toEqual([]);
    expect(rx.bodies(is('delete', '/kept.txt'))).toEqual([]);
  });
});
