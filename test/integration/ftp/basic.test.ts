// Plain FTP with the real lftp and curl (put/get/ls/mkdir/rm/rename, MLSD, UTF-8 names), and the
// exact replies of the other commands through a raw control connection.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FtpControl } from '../../support/ftp-client.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';
import { curl, lftp, PASSWORD, startFtpd, type Ftpd } from './harness.ts';

let f: Ftpd;
let local: string;

beforeAll(async () => {
  f = await startFtpd([{ username: 'alice' }]);
  local = tempDir('ftp-local-');
});

afterAll(async () => {
  await f?.server.stop();
  removeTempDirs();
});

async function control(): Promise<FtpControl> {
  const c = await FtpControl.connect(f.ports.plain);
  expect((await c.login('alice', PASSWORD)).code).toBe(230);
  return c;
}

describe('plain FTP with lftp and curl', () => {
  test('lftp: put, ls, get, mkdir, rename, rm, rmdir', async () => {
    const data = randomBytes(700_000);
    writeFileSync(join(local, 'a.bin'), data);
    const r = await lftp(
      f,
      'alice',
      `put ${join(local, 'a.bin')} -o a.bin; mkdir sub; mv a.bin sub/b.bin; cls -l sub; get sub/b.bin -o ${join(local, 'back.bin')}; ` +
        `put ${join(local, 'a.bin')} -o gone.bin; rm gone.bin; mkdir empty; rmdir empty; ls`,
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('b.bin');
    expect(readFileSync(join(f.homes.alice!, 'sub/b.bin')).equals(data)).toBe(true);
    expect(readFileSync(join(local, 'back.bin')).equals(data)).toBe(true);
    expect(existsSync(join(f.homes.alice!, 'gone.bin'))).toBe(false);
    expect(existsSync(join(f.homes.alice!, 'empty'))).toBe(false);
  });

  test('curl: upload, list, download, delete, rename with quote commands', async () => {
    const data = randomBytes(200_000);
    writeFileSync(join(local, 'c.bin'), data);
    const base = `ftp://127.0.0.1:${f.ports.plain}`;
    const auth = ['-u', `alice:${PASSWORD}`];
    expect((await curl([...auth, '-T', join(local, 'c.bin'), `${base}/c.bin`])).status).toBe(0);
    const ls = await curl([...auth, `${base}/`]);
    expect(ls.stdout).toMatch(/-rw-r--r--\s+1\s+\d+\s+\d+\s+200000 .* c\.bin\r?\n/);
    const got = await curl([...auth, '-o', join(local, 'c.back'), `${base}/c.bin`]);
    expect(got.status).toBe(0);
    expect(readFileSync(join(local, 'c.back')).equals(data)).toBe(true);
    const q = await curl([...auth, '-Q', 'RNFR c.bin', '-Q', 'RNTO d.bin', '-Q', 'DELE d.bin', `${base}/`]);
    expect(q.status).toBe(0);
    expect(existsSync(join(f.homes.alice!, 'c.bin'))).toBe(false);
    expect(existsSync(join(f.homes.alice!, 'd.bin'))).toBe(false);
  });

  test('MLSD listing and UTF-8 names with lftp', async () => {
    writeFileSync(join(local, 'ü.txt'), 'grüße');
    mkdirSync(join(f.homes.alice!, 'mlsd'), { recursive: true });
    writeFileSync(join(f.homes.alice!, 'mlsd/one.txt'), '1');
    const r = await lftp(f, 'alice', `set ftp:use-mlsd on; put ${join(local, 'ü.txt')} -o mlsd/Ωmega-ü.txt; cls -l mlsd`, { debug: true });
    expect(r.status).toBe(0);
    expect(r.stderr).toContain('---> MLSD');
    expect(r.stdout).toContain('one.txt');
    expect(r.stdout).toContain('Ωmega-ü.txt');
    expect(readFileSync(join(f.homes.alice!, 'mlsd/Ωmega-ü.txt'), 'utf8')).toBe('grüße');
  });
});

describe('command replies', () => {
  test('before login: 530 for file commands, FEAT and SYST answered', async () => {
    const c = await FtpControl.connect(f.ports.plain);
    try {
      expect(c.greeting.code).toBe(220);
      expect((await c.send('LIST')).code).toBe(530);
      expect((await c.send('RETR x')).code).toBe(530);
      const feat = await c.send('FEAT');
      expect(feat.code).toBe(211);
      for (const k of ['UTF8', 'MLST', 'EPSV', 'REST STREAM', 'AUTH TLS', 'MFMT', 'HASH']) expect(feat.lines.join('\n')).toContain(k);
      expect((await c.send('SYST')).code).toBe(215);
      expect((await c.send('PASS x')).code).toBe(503);
    } finally {
      c.close();
    }
  });

  test('bad commands get 500/501/502/504 and the session continues', async () => {
    const c = await control();
    try {
      expect((await c.send('FOOBAR')).code).toBe(500);
      expect((await c.send('X'.repeat(300))).code).toBe(500);
      expect((await c.send('STOU')).code).toBe(502);
      expect((await c.send('MODE B')).code).toBe(504);
      expect((await c.send('STRU R')).code).toBe(504);
      expect((await c.send('TYPE X')).code).toBe(504);
      expect((await c.send('REST abc')).code).toBe(501);
      expect((await c.send('RETR')).code).toBe(501);
      expect((await c.send('PORT 1,2,3')).code).toBe(501);
      expect((await c.send('SITE NOPE')).code).toBe(504);
      expect((await c.send('MFMT 2020 x')).code).toBe(501);
      expect((await c.send('RETR nothing-here')).code).toBe(550);
      expect((await c.send('NOOP')).code).toBe(200);
      expect((await c.send('PWD')).text).toContain('"/"');
      expect((await c.transfer('NLST')).last?.code).toBe(226);
    } finally {
      c.close();
    }
  });

  test('SIZE, MDTM, MFMT, MLST, SITE CHMOD, HASH, XSHA256, STAT, HELP, ALLO, OPTS', async () => {
    const data = randomBytes(5000);
    writeFileSync(join(f.homes.alice!, 'h.bin'), data);
    const c = await control();
    try {
      expect(await c.send('SIZE h.bin')).toMatchObject({ code: 213, text: '5000' });
      expect((await c.send('MFMT 20200102030405 h.bin')).code).toBe(213);
      expect(await c.send('MDTM h.bin')).toMatchObject({ code: 213, text: '20200102030405' });
      expect(statSync(join(f.homes.alice!, 'h.bin')).mtimeMs).toBe(Date.UTC(2020, 0, 2, 3, 4, 5));
      const mlst = await c.send('MLST h.bin');
      expect(mlst.code).toBe(250);
      expect(mlst.lines[1]).toMatch(/^ type=file;size=5000;modify=20200102030405;perm=[radfw]+;.* \/h\.bin$/);
      expect((await c.send('SITE CHMOD 600 h.bin')).code).toBe(200);
      expect(statSync(join(f.homes.alice!, 'h.bin')).mode & 0o777).toBe(0o600);
      const sha = createHash('sha256').update(data).digest('hex');
      expect(await c.send('XSHA256 h.bin')).toMatchObject({ code: 250, text: sha });
      expect((await c.send('HASH h.bin')).text).toContain(sha);
      expect((await c.send('OPTS HASH MD5')).code).toBe(200);
      expect((await c.send('HASH h.bin')).text).toContain(createHash('md5').update(data).digest('hex'));
      expect((await c.send('STAT')).code).toBe(211);
      const st = await c.send('STAT /');
      expect(st.code).toBe(213);
      expect(st.lines.join('\n')).toContain('h.bin');
      expect((await c.send('HELP')).code).toBe(214);
      expect((await c.send('ALLO 100')).code).toBe(202);
      expect((await c.send('OPTS UTF8 ON')).code).toBe(200);
      expect((await c.send('SIZE /')).code).toBe(550);
      expect((await c.send('MKD "q"dir')).code).toBe(257);
      expect((await c.send('CWD "q"dir')).code).toBe(250);
      expect((await c.send('PWD')).text).toContain('"/""q""dir"');
      expect((await c.send('CDUP')).code).toBe(250);
      expect((await c.send('RMD "q"dir')).code).toBe(250);
      expect((await c.send('QUIT')).code).toBe(221);
    } finally {
      c.close();
    }
  });
});
