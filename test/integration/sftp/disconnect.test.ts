// An admin's DELETE /api/v2/connections/{id} ends a real OpenSSH `sftp` client promptly and with an
// error: mid-download (the client is throttled with -l, so the transfer is still running), and
// while sftp sits waiting for its next command on a pipe. The server sends SSH_MSG_DISCONNECT and
// closes the socket; the ssh transport under sftp exits on it at once.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Server } from '../../../src/serve/serve.ts';
import { startDoorServer, type DoorPorts } from '../../support/door-server.ts';
import { removeTempDirs } from '../../support/tmp.ts';

const PASSWORD = 'Disc-Secret-1';
const ADMIN_PASSWORD = 'Disc-Admin-1';
let server: Server;
let ports: DoorPorts;
let dir: string;
let home: string;
let token = '';

beforeAll(async () => {
  const door = await startDoorServer({
    prefix: 'disconnect-',
    username: 'dora',
    password: PASSWORD,
    common: '  idle_timeout: 0\n',
    trailer: `admins:\n  - username: root\n    password: "${ADMIN_PASSWORD}"\n    permissions: ["*"]\n`,
  });
  ({ server, ports, dir, home } = door);
  writeFileSync(join(home, 'big.bin'), Buffer.alloc(8 * 1024 * 1024, 7));
  const r = await fetch(`http://127.0.0.1:${ports.api}/api/v2/token`, { headers: { authorization: `Basic ${btoa(`root:${ADMIN_PASSWORD}`)}` } });
  token = ((await r.json()) as { access_token: string }).access_token;
});

afterAll(async () => {
  await server?.stop();
  removeTempDirs();
});

interface ConnectionInfo {
  connection_id: string;
  username: string;
  active_transfers?: unknown[];
}

async function connections(): Promise<ConnectionInfo[]> {
  const r = await fetch(`http://127.0.0.1:${ports.api}/api/v2/connections`, { headers: { authorization: `Bearer ${token}` } });
  return (await r.json()) as ConnectionInfo[];
}

async function until<T>(get: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await get();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('timed out');
    await Bun.sleep(50);
  }
}

function sftp(args: string[]): { child: ChildProcessWithoutNullStreams; stderr: () => string; stdout: () => string; exited: Promise<number | null> } {
  const child = spawn(
    'sshpass',
    ['-p', PASSWORD, 'sftp', '-o', 'BatchMode=no', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-P', String(ports.sftp), ...args, 'dora@127.0.0.1'],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let err = '';
  let out = '';
  child.stderr.on('data', (d: Buffer) => (err += d));
  child.stdout.on('data', (d: Buffer) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stderr: () => err, stdout: () => out, exited };
}

async function disconnect(id: string): Promise<number> {
  const r = await fetch(`http://127.0.0.1:${ports.api}/api/v2/connections/${id}`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
  return r.status;
}

describe('an admin closes an SFTP connection', () => {
  test('mid-download: sftp exits with an error within a second or two', async () => {
    const batch = join(dir, 'get-batch');
    writeFileSync(batch, `get big.bin ${join(dir, 'big-copy.bin')}\n`);
    // 2,000 Kbit/s: the 8 MiB download would take over 30 s.
    const s = sftp(['-l', '2000', '-b', batch]);
    try {
      const conn = await until(async () => (await connections()).find((c) => c.username === 'dora' && (c.active_transfers?.length ?? 0) > 0));
      const asked = Date.now();
      expect(await disconnect(conn.connection_id)).toBe(200);
      const code = await Promise.race([s.exited, Bun.sleep(5_000).then(() => 'still running' as const)]);
      expect(code).not.toBe('still running');
      expect(code).not.toBe(0);
      expect(Date.now() - asked).toBeLessThan(5_000);
      expect(s.stderr()).toContain('Received disconnect');
    } finally {
      s.child.kill('SIGKILL');
    }
  }, 60_000);

  test('waiting for its next command on a pipe: the transport drops at once and the next command fails at once', async () => {
    const s = sftp(['-b', '-']);
    try {
      s.child.stdin.write('ls\n');
      await until(async () => (s.stdout().includes('hello.txt') ? true : undefined));
      const conn = await until(async () => (await connections()).find((c) => c.username === 'dora'));
      expect(await disconnect(conn.connection_id)).toBe(200);
      // SSH_MSG_DISCONNECT reached the client: its ssh process says so and exits.
      await until(async () => (s.stderr().includes('Received disconnect') ? true : undefined), 5_000);
      await until(async () => ((await connections()).some((c) => c.username === 'dora') ? undefined : true), 5_000);
      const asked = Date.now();
      s.child.stdin.write('ls\n');
      const code = await Promise.race([s.exited, Bun.sleep(5_000).then(() => 'still running' as const)]);
      expect(code).not.toBe('still running');
      expect(code).not.toBe(0);
      expect(Date.now() - asked).toBeLessThan(5_000);
    } finally {
      s.child.kill('SIGKILL');
    }
  }, 60_000);
});
