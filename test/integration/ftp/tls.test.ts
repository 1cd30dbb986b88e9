// FTPS: explicit TLS (AUTH TLS, PBSZ, PROT) and implicit TLS with lftp and curl, the TLS-required
// binding refusing clear logins and clear data, and certificates re-read on SIGHUP.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { randomBytes } from 'node:crypto';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { clearDataAfterTls, FtpControl } from '../../support/ftp-client.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';
import { fingerprint, makeSelfSignedCert } from '../../support/tls.ts';
import { curl, lftp, PASSWORD, startFtpd, type Ftpd } from './harness.ts';

let f: Ftpd;
let local: string;

beforeAll(async () => {
  f = await startFtpd([{ username: 'alice' }]);
  local = tempDir('ftps-local-');
});

afterAll(async () => {
  await f?.server.stop();
  removeTempDirs();
});

describe('explicit TLS', () => {
  test('lftp with ftp:ssl-force on the TLS-required binding: put, get, ls', async () => {
    const data = randomBytes(1_500_000);
    writeFileSync(join(local, 'e.bin'), data);
    const r = await lftp(f, 'alice', `put ${join(local, 'e.bin')} -o e.bin; get e.bin -o ${join(local, 'e.back')}; cls -l`, {
      tls: 'explicit', port: f.ports.tlsRequired, debug: true,
    });
    expect(r.status).toBe(0);
    expect(r.stderr).toContain('---> AUTH TLS');
    expect(r.stderr).toContain('---> PROT P');
    expect(r.stdout).toContain('e.bin');
    expect(readFileSync(join(f.homes.alice!, 'e.bin')).equals(data)).toBe(true);
    expect(readFileSync(join(local, 'e.back')).equals(data)).toBe(true);
  });

  test('curl --ssl-reqd: upload and download, repeated (no AUTH TLS race)', async () => {
    const data = randomBytes(300_000);
    writeFileSync(join(local, 'c.bin'), data);
    const base = `ftp://127.0.0.1:${f.ports.plain}`;
    const auth = ['--ssl-reqd', '-k', '-u', `alice:${PASSWORD}`];
    expect((await curl([...auth, '-T', join(local, 'c.bin'), `${base}/c.bin`])).status).toBe(0);
    for (let i = 0; i < 10; i++) {
      const r = await curl([...auth, '-o', join(local, `c${i}.back`), `${base}/c.bin`]);
      expect(r.stderr).toBe('');
      expect(readFileSync(join(local, `c${i}.back`)).equals(data)).toBe(true);
    }
  });

  test('PBSZ and PROT need AUTH TLS first; PROT S/E refused', async () => {
    const c = await FtpControl.connect(f.ports.plain);
    try {
      expect((await c.send('PBSZ 0')).code).toBe(503);
      expect((await c.send('PROT P')).code).toBe(503);
      expect((await c.startTls()).code).toBe(234);
      expect((await c.login('alice', PASSWORD)).code).toBe(230);
      expect((await c.send('PBSZ 0')).code).toBe(200);
      expect((await c.send('PROT E')).code).toBe(536);
      expect((await c.send('PROT C')).code).toBe(200);
      expect((await c.send('AUTH TLS')).code).toBe(503);
      expect((await c.transfer('NLST')).last?.code).toBe(226);
    } finally {
      c.close();
    }
  });
});

describe('implicit TLS', () => {
  test('curl ftps:// and lftp ftps://', async () => {
    writeFileSync(join(f.homes.alice!, 'imp.txt'), 'implicit');
    const r = await curl(['-k', '-u', `alice:${PASSWORD}`, `ftps://127.0.0.1:${f.ports.implicit}/imp.txt`]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('implicit');
    const l = await lftp(f, 'alice', 'cls -l', { tls: 'implicit' });
    expect(l.status).toBe(0);
    expect(l.stdout).toContain('imp.txt');
  });

  test('a plain client on the implicit port gets nothing usable', async () => {
    const r = await curl(['-u', `alice:${PASSWORD}`, '--max-time', '2', `ftp://127.0.0.1:${f.ports.implicit}/`]);
    expect(r.status).not.toBe(0);
  });
});

describe('TLS required (tls_mode 1)', () => {
  test('USER and PASS before AUTH TLS are refused (534/530) and logged', async () => {
    const c = await FtpControl.connect(f.ports.tlsRequired);
    try {
      expect((await c.send('USER alice')).code).toBe(534);
      expect((await c.send('PASS x')).code).toBe(530);
      expect((await c.send('LIST')).code).toBe(530);
      expect((await c.send('FEAT')).code).toBe(211);
    } finally {
      c.close();
    }
    await f.server.waitForLog((l) => l.event === 'login_failed' && l.protocol === 'FTP' && l.reason === 'tls_required' && l.username === 'alice');
    const r = await lftp(f, 'alice', 'ls', { port: f.ports.tlsRequired });
    expect(r.status).not.toBe(0);
    const cu = await curl(['-u', `alice:${PASSWORD}`, `ftp://127.0.0.1:${f.ports.tlsRequired}/`]);
    expect(cu.status).not.toBe(0);
  });

  test('clear data connections are refused on the TLS-required binding', async () => {
    expect(await clearDataAfterTls(f.ports.tlsRequired, 'alice', PASSWORD)).toEqual({ auth: 234, login: 230, pbsz: 200, prot: 534, nlst: 521, noop: 200 });
  });
});

describe('certificate reload', () => {
  test('SIGHUP re-reads the certificate files', async () => {
    const before = await FtpControl.connect(f.ports.implicit, { implicitTls: true });
    const old = before.peerFingerprint();
    before.close();
    expect(old.replace(/:/g, '')).toBe(fingerprint(f.cert.cert).replace(/:/g, ''));
    const fresh = makeSelfSignedCert(tempDir('ftps-cert-'), 'next');
    copyFileSync(fresh.cert, f.cert.cert);
    copyFileSync(fresh.key, f.cert.key);
    const seen = f.server.logs.filter((l) => l.event === 'reload_applied').length;
    f.server.proc.kill('SIGHUP');
    await f.server.waitForLog(() => f.server.logs.filter((l) => l.event === 'reload_applied').length > seen);
    const after = await FtpControl.connect(f.ports.implicit, { implicitTls: true });
    try {
      expect(after.peerFingerprint()).not.toBe(old);
      expect(after.peerFingerprint().replace(/:/g, '')).toBe(fingerprint(fresh.cert).replace(/:/g, ''));
      expect((await after.login('alice', PASSWORD)).code).toBe(230);
    } finally {
      after.close();
    }
  });
});
