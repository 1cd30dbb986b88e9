// Data connections and transfers: the passive port range, active mode, resumed uploads (REST+STOR
// writes at the offset without truncating; APPE) and downloads (REST+RETR), ABOR mid-transfer.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FtpControl } from '../../support/ftp-client.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';
import { curl, lftp, PASSWORD, startFtpd, type Ftpd } from './harness.ts';

let f: Ftpd;
let local: string;
let home: string;

beforeAll(async () => {
  f = await startFtpd([{ username: 'alice' }], { ftpdExtra: '  data_connection_timeout: 2' });
  local = tempDir('ftp-xfer-');
  home = f.homes.alice!;
});

afterAll(async () => {
  await f?.server.stop();
  removeTempDirs();
});

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

function inRange(port: number): boolean {
  return port >= f.passive.start && port <= f.passive.end;
}

describe('passive mode', () => {
  test('every PASV/EPSV port curl and lftp are given is in passive_port_range', async () => {
    writeFileSync(join(home, 'p.txt'), 'p');
    const ports: number[] = [];
    for (const extra of [['--disable-epsv'], []]) {
      for (let i = 0; i < 3; i++) {
        const r = await curl(['-v', ...extra, '-u', `alice:${PASSWORD}`, `ftp://127.0.0.1:${f.ports.plain}/p.txt`]);
        expect(r.stdout).toBe('p');
        for (const m of r.stderr.matchAll(/227 Entering Passive Mode \(\d+,\d+,\d+,\d+,(\d+),(\d+)\)/g)) ports.push(Number(m[1]) * 256 + Number(m[2]));
        for (const m of r.stderr.matchAll(/229 Entering Extended Passive Mode \(\|\|\|(\d+)\|\)/g)) ports.push(Number(m[1]));
      }
    }
    const l = await lftp(f, 'alice', 'ls; get p.txt -o ' + join(local, 'p.back') + '; set ftp:prefer-epsv yes; cls -l', { debug: true });
    expect(l.status).toBe(0);
    for (const m of l.stderr.matchAll(/Connecting data socket to \(127\.0\.0\.1\) port (\d+)/g)) ports.push(Number(m[1]));
    expect(ports.length).toBeGreaterThanOrEqual(9);
    expect(ports.filter((p) => !inRange(p))).toEqual([]);
  });

  test('active mode (PORT/EPRT) with lftp', async () => {
    writeFileSync(join(local, 'act.bin'), randomBytes(100_000));
    const r = await lftp(f, 'alice', `set ftp:passive-mode off; put ${join(local, 'act.bin')} -o act.bin; ls`, { debug: true });
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/---> (PORT|EPRT) /);
    expect(readFileSync(join(home, 'act.bin')).equals(readFileSync(join(local, 'act.bin')))).toBe(true);
  });
});

describe('resume', () => {
  test('lftp put -c continues a partial upload (REST + STOR, no truncation)', async () => {
    const data = randomBytes(2_000_000);
    writeFileSync(join(local, 'up.bin'), data);
    writeFileSync(join(home, 'up.bin'), data.subarray(0, 700_000));
    const r = await lftp(f, 'alice', `put -c ${join(local, 'up.bin')} -o up.bin`, { debug: true });
    expect(r.status).toBe(0);
    expect(r.stderr).toContain('---> REST 700000');
    expect(sha(readFileSync(join(home, 'up.bin')))).toBe(sha(data));
  });

  test('curl -C - --upload-file continues a partial upload (APPE)', async () => {
    const data = randomBytes(1_000_000);
    writeFileSync(join(local, 'up2.bin'), data);
    writeFileSync(join(home, 'up2.bin'), data.subarray(0, 300_000));
    const r = await curl(['-v', '-C', '-', '--upload-file', join(local, 'up2.bin'), '-u', `alice:${PASSWORD}`, `ftp://127.0.0.1:${f.ports.plain}/up2.bin`]);
    expect(r.status).toBe(0);
    expect(r.stderr).toContain('APPE up2.bin');
    expect(sha(readFileSync(join(home, 'up2.bin')))).toBe(sha(data));
  });

  test('REST + STOR writes at the offset and keeps the bytes after it', async () => {
    writeFileSync(join(home, 'mid.bin'), Buffer.alloc(100, 'a'));
    const c = await FtpControl.connect(f.ports.plain);
    try {
      await c.login('alice', PASSWORD);
      expect((await c.send('TYPE I')).code).toBe(200);
      expect((await c.send('REST 10')).code).toBe(350);
      const t = await c.transfer('STOR mid.bin', Buffer.from('BBBBB'));
      expect(t.last?.code).toBe(226);
      expect((await c.send('REST 500')).code).toBe(350);
      expect((await c.transfer('STOR mid.bin', Buffer.from('x'))).first.code).toBe(554);
    } finally {
      c.close();
    }
    expect(readFileSync(join(home, 'mid.bin'), 'latin1')).toBe('a'.repeat(10) + 'BBBBB' + 'a'.repeat(85));
  });

  test('lftp get -c and curl -C - continue partial downloads (REST + RETR)', async () => {
    const data = randomBytes(1_500_000);
    writeFileSync(join(home, 'down.bin'), data);
    writeFileSync(join(local, 'down1.bin'), data.subarray(0, 400_000));
    writeFileSync(join(local, 'down2.bin'), data.subarray(0, 900_000));
    const r = await lftp(f, 'alice', `get -c down.bin -o ${join(local, 'down1.bin')}`, { debug: true });
    expect(r.status).toBe(0);
    expect(r.stderr).toContain('---> REST 400000');
    expect(sha(readFileSync(join(local, 'down1.bin')))).toBe(sha(data));
    const cu = await curl(['-v', '-C', '-', '-o', join(local, 'down2.bin'), '-u', `alice:${PASSWORD}`, `ftp://127.0.0.1:${f.ports.plain}/down.bin`]);
    expect(cu.status).toBe(0);
    expect(cu.stderr).toContain('REST 900000');
    expect(sha(readFileSync(join(local, 'down2.bin')))).toBe(sha(data));
  });
});

describe('data connection timeout', () => {
  test('a client that never opens the passive connection gets 425 after data_connection_timeout', async () => {
    writeFileSync(join(home, 't.txt'), 't');
    const c = await FtpControl.connect(f.ports.plain);
    try {
      await c.login('alice', PASSWORD);
      expect((await c.send('EPSV')).code).toBe(229);
      const started = Date.now();
      expect((await c.send('RETR t.txt')).code).toBe(425);
      expect(Date.now() - started).toBeGreaterThanOrEqual(1500);
      expect((await c.transfer('RETR t.txt')).data.toString()).toBe('t');
    } finally {
      c.close();
    }
  });
});

describe('downloads', () => {
  test('a client that keeps stopping reading gets every byte, in order, from any REST offset', async () => {
    // Plain data from local storage goes by sendfile: each time the socket fills, sending must
    // resume where it stopped, never ahead of what the socket still queues.
    const data = randomBytes(24 * 1024 * 1024 + 123);
    writeFileSync(join(home, 'stutter.bin'), data);
    const c = await FtpControl.connect(f.ports.plain);
    try {
      await c.login('alice', PASSWORD);
      for (const offset of [0, 5 * 1024 * 1024 + 7]) {
        if (offset) expect((await c.send(`REST ${offset}`)).code).toBe(350);
        const { socket } = await c.passive();
        const chunks: Buffer[] = [];
        let reads = 0;
        const closed = new Promise<void>((resolve) => {
          socket!.on('data', (d: Buffer) => {
            chunks.push(d);
            if (++reads % 16 === 0) {
              socket!.pause();
              setTimeout(() => socket!.resume(), 5);
            }
          });
          socket!.on('close', () => resolve());
        });
        expect((await c.send('RETR stutter.bin')).code).toBe(150);
        await closed;
        expect((await c.read()).code).toBe(226);
        expect(sha(Buffer.concat(chunks))).toBe(sha(data.subarray(offset)));
      }
    } finally {
      c.close();
    }
  });
});

describe('ABOR and connection tracking', () => {
  test('ABOR stops a running download (426 then 226); the session goes on and nothing leaks', async () => {
    writeFileSync(join(home, 'big.bin'), randomBytes(64 * 1024 * 1024));
    const c = await FtpControl.connect(f.ports.plain);
    try {
      await c.login('alice', PASSWORD);
      const { socket } = await c.passive();
      socket!.pause();
      expect((await c.send('RETR big.bin')).code).toBe(150);
      const codes = [(await c.send('ABOR')).code, (await c.read()).code];
      expect(codes).toEqual([426, 226]);
      socket!.destroy();
      expect((await c.send('NOOP')).code).toBe(200);
      expect((await c.send('SIZE big.bin')).text).toBe(String(64 * 1024 * 1024));
    } finally {
      c.close();
    }
    const out = await f.server.waitForLog((l) => l.event === 'logout' && l.protocol === 'FTP' && l.username === 'alice' && (l.live_connections as number) === 0, 10_000);
    expect(out.open_transfers).toBe(0);
    expect(statSync(join(home, 'big.bin')).size).toBe(64 * 1024 * 1024);
  });

  test("lftp's abort, its DM byte sent as urgent data, is read as ABOR", async () => {
    // Larger than the loopback socket buffers hold, so the download is still running when lftp,
    // unable to create the local file, aborts it with IAC IP, IAC DM (urgent), ABOR.
    writeFileSync(join(home, 'abort-me.bin'), randomBytes(32 * 1024 * 1024));
    const r = await lftp(f, 'alice', `get abort-me.bin -o ${join(local, 'no-such-dir', 'x.bin')}`, { debug: true });
    expect(r.stderr).toContain('---> ABOR');
    // lftp hangs up without reading the answer: the server's command trace tells what it read.
    await f.server.waitForLog((l) => l.event === 'ftp_command' && l.command === 'ABOR', 10_000);
    expect(f.server.logs.some((l) => l.event === 'ftp_command' && l.command === 'BOR')).toBe(false);
  });
});
