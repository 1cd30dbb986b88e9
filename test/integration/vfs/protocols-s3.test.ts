// FTP and WebDAV against a user whose home is on S3 (s3rver): the real lftp and curl clients put,
// list, get and delete, and the objects are checked with the S3 SDK.
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../support/net.ts';
import { run } from '../../support/run.ts';
import { s3ClientFor, type S3rver, startS3rver } from '../../support/s3rver.ts';
import { startServer, type RunningServer } from '../../support/server.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';

const PASSWORD = 'cloud-Pass-4';
let s3: S3rver;
let server: RunningServer;
let ftpPort = 0;
let davPort = 0;
let work = '';
const data = randomBytes(2 * 1024 * 1024 + 5);

beforeAll(async () => {
  s3 = await startS3rver('cloud');
  work = tempDir('proto-s3-');
  [ftpPort, davPort] = [await freePort(), await freePort()];
  const yaml = `
ftpd:
  bindings: [{ address: 127.0.0.1, port: ${ftpPort} }]
  passive_port_range: { start: ${ftpPort + 1000 > 65000 ? 40000 : ftpPort + 1000}, end: ${ftpPort + 1000 > 65000 ? 40050 : ftpPort + 1050} }
webdavd:
  bindings: [{ address: 127.0.0.1, port: ${davPort} }]
data_provider:
  password_hashing: { bcrypt_options: { cost: 4 } }
users:
  - username: cloud
    password: ${PASSWORD}
    home_dir: ${join(work, 'home')}
    filesystem:
      provider: s3
      s3config: { bucket: cloud, region: us-east-1, endpoint: "${s3.endpoint}", force_path_style: true, access_key: ${s3.accessKey}, access_secret: ${s3.secretKey}, key_prefix: "c/", request_checksum_calculation: when_required, response_checksum_validation: when_required }
`;
  server = await startServer({ yaml, cwd: work });
  writeFileSync(join(work, 'payload.bin'), data);
}, 120_000);

afterAll(async () => {
  await server?.stop();
  await s3?.stop();
  removeTempDirs();
});

async function object(key: string): Promise<Buffer | undefined> {
  const c = s3ClientFor(s3);
  try {
    const r = await c.send(new GetObjectCommand({ Bucket: 'cloud', Key: key }));
    return Buffer.from(await r.Body!.transformToByteArray());
  } catch {
    return undefined;
  } finally {
    c.destroy();
  }
}

async function keys(): Promise<string[]> {
  const c = s3ClientFor(s3);
  try {
    return ((await c.send(new ListObjectsV2Command({ Bucket: 'cloud', Prefix: 'c/' }))).Contents ?? []).map((o) => o.Key!);
  } finally {
    c.destroy();
  }
}

test('FTP (lftp) on an S3 home: put, ls, get, mkdir, rename, rm', async () => {
  const local = join(work, 'payload.bin');
  const r = await run('lftp', ['-c', `set net:max-retries 1; set net:timeout 20; open -u cloud,${PASSWORD} -p ${ftpPort} 127.0.0.1; put ${local} -o ftp.bin; mkdir d; mv ftp.bin d/ftp2.bin; ls d; get d/ftp2.bin -o ${local}.ftp`]);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  expect(r.stdout).toContain('ftp2.bin');
  expect(readFileSync(`${local}.ftp`).equals(data)).toBe(true);
  expect((await object('c/d/ftp2.bin'))?.equals(data)).toBe(true);
  const rm = await run('lftp', ['-c', `open -u cloud,${PASSWORD} -p ${ftpPort} 127.0.0.1; rm d/ftp2.bin`]);
  expect(rm.status).toBe(0);
  expect(await object('c/d/ftp2.bin')).toBeUndefined();
});

test('WebDAV (curl) on an S3 home: PUT, PROPFIND, ranged GET, MOVE, DELETE', async () => {
  const base = `http://127.0.0.1:${davPort}`;
  const auth = ['-u', `cloud:${PASSWORD}`, '-sS'];
  let r = await run('curl', [...auth, '-o', '/dev/null', '-w', '%{http_code}', '-T', join(work, 'payload.bin'), `${base}/dav.bin`]);
  expect(r.stdout).toBe('201');
  expect((await object('c/dav.bin'))?.equals(data)).toBe(true);
  r = await run('curl', [...auth, '-X', 'PROPFIND', '-H', 'Depth: 1', `${base}/`]);
  expect(r.stdout).toContain('dav.bin');
  expect(r.stdout).toMatch(new RegExp(`getcontentlength>${data.length}<`));
  const range = await run('curl', [...auth, '-r', '1000-1999', `${base}/dav.bin`, '-o', join(work, 'range.bin')]);
  expect(range.status).toBe(0);
  expect(readFileSync(join(work, 'range.bin')).equals(data.subarray(1000, 2000))).toBe(true);
  r = await run('curl', [...auth, '-o', '/dev/null', '-w', '%{http_code}', '-X', 'MOVE', '-H', `Destination: ${base}/moved.bin`, `${base}/dav.bin`]);
  expect(r.stdout).toBe('201');
  expect(await keys()).toContain('c/moved.bin');
  r = await run('curl', [...auth, '-o', '/dev/null', '-w', '%{http_code}', '-X', 'DELETE', `${base}/moved.bin`]);
  expect(r.stdout).toBe('204');
  expect(await keys()).not.toContain('c/moved.bin');
});
