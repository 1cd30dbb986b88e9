// IP lists on a real server in this process with SFTP, FTP, WebDAV and REST API bindings, driven by
// real clients bound to different loopback addresses (OpenSSH sftp -o BindAddress, curl
// --interface): common.allowlist_status 1 lets only the allow list's addresses in, per protocol;
// entries are managed through /api/v2/iplists in SFTPGo's shape and apply at once; type 2 entries
// are the defender's block and safe lists; the deprecated static defender lists still work and
// say so once.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Server } from '../../../src/serve/serve.ts';
import { run } from '../../support/run.ts';
import { startDoorServer, type DoorPorts } from '../../support/door-server.ts';
import { removeTempDirs } from '../../support/tmp.ts';

const PASSWORD = 'Lists-Secret-1';
const ADMIN_PASSWORD = 'Lists-Admin-1';
let server: Server;
let dir: string;
let ports: DoorPorts;
let configFile: string;
let configText: string;
let lines: Record<string, unknown>[];

beforeAll(async () => {
  const door = await startDoorServer({
    prefix: 'iplists-',
    username: 'dora',
    password: PASSWORD,
    common: `  allowlist_status: 1
  defender:
    enabled: true
    threshold: 4
    score_invalid: 2
    score_valid: 2
    safelist: [127.0.0.9]
`,
    extra: `ip_lists:
  - { ipornet: 127.0.0.1, type: 1, description: the test runner }
  - { ipornet: 127.0.0.2/32, type: 1, protocols: 1, description: SSH only }
  - { ipornet: 127.0.0.4/31, type: 1 }
  - { ipornet: 127.0.0.4, type: 2, mode: 2, description: blocked by the defender }
  - { ipornet: 127.0.0.5, type: 2, mode: 1, description: never banned }
`,
    trailer: `admins:
  - username: root
    password: "${ADMIN_PASSWORD}"
    permissions: ["*"]
`,
  });
  ({ server, dir, ports, configFile, configText, lines } = door);
});

afterAll(async () => {
  await server?.stop();
  removeTempDirs();
});

/** OpenSSH sftp from `from`: the listing of the home, or a failure. */
async function sftpLs(from: string, password = PASSWORD): Promise<{ ok: boolean; out: string }> {
  const batch = join(dir, `batch-${Math.random().toString(36).slice(2)}`);
  writeFileSync(batch, 'ls\n');
  const r = await run('sshpass', [
    '-p', password, 'sftp', '-o', 'BatchMode=no', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR',
    '-o', `BindAddress=${from}`, '-o', 'ConnectTimeout=20', '-P', String(ports.sftp), '-b', batch, 'dora@127.0.0.1',
  ]);
  return { ok: r.status === 0, out: r.stdout + r.stderr };
}

/** curl from `from`: its exit status, the HTTP status (0 when none) and the body. */
async function curl(from: string, url: string, extra: string[] = []): Promise<{ status: number | null; http: number; body: string }> {
  const r = await run('curl', ['-s', '--max-time', '20', '--interface', from, '-w', '\n%{http_code}', ...extra, url]);
  const nl = r.stdout.lastIndexOf('\n');
  return { status: r.status, http: Number(r.stdout.slice(nl + 1)) || 0, body: r.stdout.slice(0, nl) };
}

const ftpList = (from: string) => curl(from, `ftp://127.0.0.1:${ports.ftp}/`, ['-u', `dora:${PASSWORD}`]);
const davGet = (from: string) => curl(from, `http://127.0.0.1:${ports.dav}/hello.txt`, ['-u', `dora:${PASSWORD}`]);
const apiToken = (from: string) => curl(from, `http://127.0.0.1:${ports.api}/api/v2/token`, ['-u', `root:${ADMIN_PASSWORD}`]);

let token = '';
async function api(method: string, path: string, body?: unknown): Promise<{ status: number; json: any; headers: Headers }> {
  token ||= JSON.parse((await apiToken('127.0.0.1')).body).access_token;
  const res = await fetch(`http://127.0.0.1:${ports.api}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined, headers: res.headers };
}

const notAllowed = (ip: string, protocol: string) => lines.filter((l) => l.event === 'connection_refused' && l.reason === 'not_allowed' && l.ip === ip && l.protocol === protocol).length;

describe('common.allowlist_status 1', () => {
  test('SFTP: an address on the allow list lists its home; one not on it is closed before authentication', async () => {
    expect((await sftpLs('127.0.0.1')).out).toContain('hello.txt');
    const refused = await sftpLs('127.0.0.3');
    expect(refused.ok).toBe(false);
    expect(refused.out).not.toContain('hello.txt');
    expect(notAllowed('127.0.0.3', 'SSH')).toBeGreaterThan(0);
    // Nothing about the client was tried, so nothing is scored.
    expect(server.context.defender.host('127.0.0.3')).toBeUndefined();
  });

  test('FTP: listed in, unlisted refused with 421 before the greeting', async () => {
    expect((await ftpList('127.0.0.1')).body).toContain('hello.txt');
    const r = await ftpList('127.0.0.3');
    expect(r.status).not.toBe(0);
    expect(r.body).not.toContain('hello.txt');
    expect(notAllowed('127.0.0.3', 'FTP')).toBeGreaterThan(0);
  });

  test('WebDAV: listed in, unlisted closed without an answer', async () => {
    expect((await davGet('127.0.0.1')).body).toBe('hello');
    const r = await davGet('127.0.0.3');
    expect(r.http).toBe(0);
    expect(notAllowed('127.0.0.3', 'DAV')).toBeGreaterThan(0);
  });

  test('REST API: listed in, unlisted closed without an answer', async () => {
    expect((await apiToken('127.0.0.1')).http).toBe(200);
    const r = await apiToken('127.0.0.3');
    expect(r.http).toBe(0);
    expect(notAllowed('127.0.0.3', 'HTTP')).toBeGreaterThan(0);
  });

  test("an entry's protocols mask: 127.0.0.2 may use SSH and nothing else", async () => {
    expect((await sftpLs('127.0.0.2')).out).toContain('hello.txt');
    expect((await ftpList('127.0.0.2')).body).not.toContain('hello.txt');
    expect((await davGet('127.0.0.2')).http).toBe(0);
    expect(notAllowed('127.0.0.2', 'FTP')).toBeGreaterThan(0);
  });
});

describe('/api/v2/iplists', () => {
  test('/api/v2/status says the allow list is active', async () => {
    expect((await api('GET', '/api/v2/status')).json).toMatchObject({ allow_list: { is_active: true }, rate_limiters: { is_active: false, protocols: [] } });
  });

  test("lists the config's entries in SFTPGo's shape, ordered by ipornet", async () => {
    const r = await api('GET', '/api/v2/iplists/1');
    expect(r.status).toBe(200);
    expect(r.json.map((e: any) => e.ipornet)).toEqual(['127.0.0.1/32', '127.0.0.2/32', '127.0.0.4/31']);
    expect(r.json[1]).toEqual({ ipornet: '127.0.0.2/32', type: 1, mode: 1, protocols: 1, description: 'SSH only', created_at: expect.any(Number), updated_at: expect.any(Number) });
    expect((await api('GET', '/api/v2/iplists/1?order=DESC&limit=1')).json.map((e: any) => e.ipornet)).toEqual(['127.0.0.4/31']);
    expect((await api('GET', '/api/v2/iplists/1?from=127.0.0.1/32')).json.map((e: any) => e.ipornet)).toEqual(['127.0.0.2/32', '127.0.0.4/31']);
    expect((await api('GET', '/api/v2/iplists/2?filter=127.0.0.5')).json.map((e: any) => e.ipornet)).toEqual(['127.0.0.5/32']);
  });

  test('an added entry lets its address in at once; an update narrows it; a delete shuts it out again', async () => {
    const created = await api('POST', '/api/v2/iplists/1', { ipornet: '127.0.0.3', description: 'added', protocols: 6 });
    expect(created.status).toBe(201);
    expect(created.json).toEqual({ message: 'Entry added' });
    expect(created.headers.get('location')).toBe(`/api/v2/iplists/1/${encodeURIComponent('127.0.0.3/32')}`);
    expect((await api('GET', `/api/v2/iplists/1/${encodeURIComponent('127.0.0.3/32')}`)).json).toMatchObject({ ipornet: '127.0.0.3/32', type: 1, mode: 1, protocols: 6, description: 'added' });
    expect((await ftpList('127.0.0.3')).body).toContain('hello.txt');
    expect((await davGet('127.0.0.3')).body).toBe('hello');
    expect((await sftpLs('127.0.0.3')).ok).toBe(false);

    // A bare address in the path names its /32.
    expect((await api('PUT', '/api/v2/iplists/1/127.0.0.3', { protocols: 2 })).status).toBe(200);
    expect((await ftpList('127.0.0.3')).body).toContain('hello.txt');
    expect((await davGet('127.0.0.3')).http).toBe(0);

    expect((await api('DELETE', `/api/v2/iplists/1/${encodeURIComponent('127.0.0.3/32')}`)).status).toBe(200);
    expect((await ftpList('127.0.0.3')).body).not.toContain('hello.txt');
    expect((await api('GET', '/api/v2/iplists/1/127.0.0.3')).status).toBe(404);
  });

  test('bad input gets 400, duplicates 409, and entries the config declares are changed there', async () => {
    expect((await api('GET', '/api/v2/iplists/4')).status).toBe(400);
    expect((await api('POST', '/api/v2/iplists/1', { ipornet: 'not-an-ip' })).status).toBe(400);
    expect((await api('POST', '/api/v2/iplists/1', { ipornet: '10.0.0.0/8', mode: 2 })).status).toBe(400);
    expect((await api('POST', '/api/v2/iplists/2', { ipornet: '10.0.0.0/8', mode: 3 })).status).toBe(400);
    expect((await api('POST', '/api/v2/iplists/1', { ipornet: '10.0.0.0/8', type: 2 })).status).toBe(400);
    expect((await api('POST', '/api/v2/iplists/1', { ipornet: '127.0.0.1' })).status).toBe(409);
    const put = await api('PUT', '/api/v2/iplists/1/127.0.0.1', { protocols: 1 });
    expect(put.status).toBe(409);
    expect(put.json.error).toContain('config file');
    expect((await api('DELETE', '/api/v2/iplists/1/127.0.0.1')).status).toBe(409);
    // The server lives on.
    expect((await ftpList('127.0.0.1')).body).toContain('hello.txt');
  });
});

describe('SFTPGo backups', () => {
  test("bring their entries; one the config declares stays as the config says, with a warning", async () => {
    const backup = {
      version: 17,
      users: [],
      folders: [],
      admins: [],
      ip_lists: [
        { ipornet: '127.0.0.1/32', type: 1, mode: 1, protocols: 1, description: 'from SFTPGo', created_at: 1, updated_at: 1 },
        { ipornet: '198.51.100.0/24', type: 3, mode: 1, protocols: 8, description: 'monitoring', created_at: 1, updated_at: 1 },
      ],
    };
    const r = await api('POST', '/api/v2/loaddata?from=sftpgo', backup);
    expect(r.status).toBe(200);
    expect(r.json.ip_lists).toBe(1);
    expect(r.json.warnings).toContain('ip_lists: 127.0.0.1/32 (type 1) is declared in the config file, kept as the config says');
    expect((await api('GET', '/api/v2/iplists/1/127.0.0.1')).json).toMatchObject({ protocols: 0, description: 'the test runner' });
    expect((await api('GET', `/api/v2/iplists/3/${encodeURIComponent('198.51.100.0/24')}`)).json).toMatchObject({ type: 3, protocols: 8, description: 'monitoring' });
    expect((await api('DELETE', `/api/v2/iplists/3/${encodeURIComponent('198.51.100.0/24')}`)).status).toBe(200);
  });
});

describe('type 2 entries are the defender', () => {
  test('mode 2 blocks an address the allow list lets in', async () => {
    expect((await ftpList('127.0.0.4')).body).not.toContain('hello.txt');
    expect(lines.some((l) => l.event === 'connection_refused' && l.reason === 'blocklisted' && l.ip === '127.0.0.4')).toBe(true);
  });

  test('mode 1 is never banned, while an address off the safe list is', async () => {
    for (let i = 0; i < 3; i++) expect((await sftpLs('127.0.0.5', 'wrong-password')).ok).toBe(false);
    expect(server.context.defender.host('127.0.0.5')).toBeUndefined();
    expect((await sftpLs('127.0.0.5')).out).toContain('hello.txt');
    for (let i = 0; i < 2; i++) await sftpLs('127.0.0.1', 'wrong-password');
    expect(server.context.defender.host('127.0.0.1')?.ban_time).toBeDefined();
    expect(server.context.defender.remove('127.0.0.1')).toBe(true);
  });

  test('an entry added through the API blocks at once, and its removal lets the address back', async () => {
    expect((await api('POST', '/api/v2/iplists/2', { ipornet: '127.0.0.5/32', mode: 2 })).status).toBe(409);
    expect((await api('POST', '/api/v2/iplists/2', { ipornet: '127.0.0.2', mode: 2, protocols: 1 })).status).toBe(201);
    expect((await sftpLs('127.0.0.2')).ok).toBe(false);
    expect((await api('DELETE', '/api/v2/iplists/2/127.0.0.2')).status).toBe(200);
    expect((await sftpLs('127.0.0.2')).out).toContain('hello.txt');
  });

  test('the static common.defender lists still work, with one deprecation line per start', () => {
    const deprecated = lines.filter((l) => l.event === 'config_deprecated');
    expect(deprecated).toHaveLength(1);
    expect(deprecated[0]!.keys).toEqual(['common.defender.safelist']);
    expect(server.context.defender.isSafe('127.0.0.9')).toBe(true);
  });
});

describe('a reload', () => {
  test('reconciles the YAML: a new entry lets its address in, a removed one shuts it out, allowlist_status 0 opens the door', async () => {
    expect((await ftpList('127.0.0.6')).body).not.toContain('hello.txt');
    writeFileSync(configFile, configText.replace('  - { ipornet: 127.0.0.1, type: 1, description: the test runner }\n', '  - { ipornet: 127.0.0.1, type: 1, description: the test runner }\n  - { ipornet: 127.0.0.6, type: 1 }\n').replace('  - { ipornet: 127.0.0.2/32, type: 1, protocols: 1, description: SSH only }\n', ''));
    expect((await api('POST', '/api/v2/reload')).status).toBe(200);
    expect(lines.some((l) => l.event === 'reconcile_change' && l.kind === 'iplist' && l.name === '1_127.0.0.6/32' && l.action === 'create')).toBe(true);
    expect((await ftpList('127.0.0.6')).body).toContain('hello.txt');
    expect((await sftpLs('127.0.0.2')).ok).toBe(false);

    writeFileSync(configFile, configText.replace('  allowlist_status: 1\n', ''));
    expect((await api('POST', '/api/v2/reload')).status).toBe(200);
    expect((await ftpList('127.0.0.7')).body).toContain('hello.txt');
    expect((await api('GET', '/api/v2/status')).json.allow_list).toEqual({ is_active: false });
    // One deprecation line per start, not per reload.
    expect(lines.filter((l) => l.event === 'config_deprecated')).toHaveLength(1);
  });
});
