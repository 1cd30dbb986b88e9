// Real OpenSSH clients (ssh, sftp) against the project's ssh2 (src/lib/ssh2.ts) with each
// cipher forced, moving a few MB of random data both ways and comparing sha256; plus the ssh2
// Client from the same fork talking chacha20-poly1305 to it.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '../../../src/lib/ssh2.ts';
import {
  generateKeys, opensshArgs, startCipherTestServer, TEST_PASSWORD, TEST_USER,
  type CipherTestServer, type SshKeys,
} from '../../support/ssh-cipher-server.ts';

const CASES: { cipher: string; mac?: string }[] = [
  { cipher: 'chacha20-poly1305@openssh.com' },
  { cipher: 'aes128-gcm@openssh.com' },
  { cipher: 'aes256-ctr', mac: 'hmac-sha2-256-etm@openssh.com' },
];
const SIZE = 4 * 1024 * 1024 + 12345; // not a multiple of any packet or SFTP block size

const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

let keys: SshKeys;
let server: CipherTestServer;
let local: string;

function run(cmd: string, args: string[], stdin?: Buffer): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  return new Promise((resolveRun, reject) => {
    // Asynchronous on purpose: the server runs in this process and must keep serving meanwhile
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('error', reject);
    child.on('close', (code) => resolveRun({ code, stdout: Buffer.concat(out), stderr }));
    child.stdin.end(stdin);
  });
}

beforeAll(async () => {
  keys = generateKeys();
  local = mkdtempSync(join(tmpdir(), 'ssh-cipher-test-local-'));
  server = await startCipherTestServer(keys, mkdtempSync(join(tmpdir(), 'ssh-cipher-test-root-')));
});

afterAll(async () => {
  await server?.close();
  for (const dir of [local, server?.root, keys?.dir]) if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.each(CASES)('OpenSSH client with $cipher', ({ cipher, mac }) => {
  const algo = ['-c', cipher, ...(mac ? ['-o', `MACs=${mac}`] : [])];

  test('ssh exec echoes stdin back intact', async () => {
    const data = randomBytes(SIZE);
    const res = await run('ssh', [
      ...opensshArgs(keys), '-v', '-p', String(server.port), ...algo, `${TEST_USER}@127.0.0.1`, 'echo',
    ], data);
    expect(res.code).toBe(0);
    // Prove what was negotiated rather than trusting -c
    expect(res.stderr).toContain(`server->client cipher: ${cipher}`);
    expect(res.stderr).toContain(`client->server cipher: ${cipher}`);
    if (mac) expect(res.stderr).toContain(`server->client cipher: ${cipher} MAC: ${mac}`);
    expect(res.stdout.length).toBe(SIZE);
    expect(sha256(res.stdout)).toBe(sha256(data));
  });

  test('sftp put then get round trips the file', async () => {
    const tag = cipher.replace(/[^a-z0-9]/g, '_');
    const up = join(local, `up-${tag}.bin`);
    const down = join(local, `down-${tag}.bin`);
    const data = randomBytes(SIZE);
    writeFileSync(up, data);
    const res = await run('sftp', [
      ...opensshArgs(keys), '-q', '-b', '-', '-P', String(server.port), ...algo, `${TEST_USER}@127.0.0.1`,
    ], Buffer.from(`put ${up} /${tag}.bin\nget /${tag}.bin ${down}\n`));
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(sha256(readFileSync(join(server.root, `${tag}.bin`)))).toBe(sha256(data));
    expect(sha256(readFileSync(down))).toBe(sha256(data));
  });
});

test('ssh2 Client from the fork talks chacha20-poly1305 to the server', async () => {
  const data = randomBytes(SIZE);
  const client = new Client();
  const negotiated = new Promise<string[]>((resolveNeg) => {
    client.on('handshake', (n) => resolveNeg([n.cs.cipher, n.sc.cipher]));
  });
  await new Promise<void>((resolveReady, reject) => {
    client.on('ready', resolveReady).on('error', reject).connect({
      host: '127.0.0.1', port: server.port, username: TEST_USER, password: TEST_PASSWORD,
      algorithms: { cipher: ['chacha20-poly1305@openssh.com'] },
    });
  });
  try {
    expect(await negotiated).toEqual(['chacha20-poly1305@openssh.com', 'chacha20-poly1305@openssh.com']);
    const echoed = await new Promise<Buffer>((resolveExec, reject) => {
      client.exec('echo', (err, stream) => {
        if (err) return reject(err);
        const out: Buffer[] = [];
        stream.on('data', (d: Buffer) => out.push(d));
        stream.on('close', () => resolveExec(Buffer.concat(out)));
        stream.end(data);
      });
    });
    expect(echoed.length).toBe(SIZE);
    expect(sha256(echoed)).toBe(sha256(data));
  } finally {
    client.end();
  }
});
