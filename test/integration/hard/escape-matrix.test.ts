// The path-escape matrix: every protocol (SFTP, SCP and SSH commands, FTP, WebDAV, the user API,
// public shares) × every backend (local, crypt, S3 on s3rver, GCS on the test server, Azure on
// azurite, SFTP on a real sshd) × every trick in test/support/escape-tricks.ts, sent at the wire
// level. The oracle: canaries outside the home, in a sibling's home, in a virtual folder's parent,
// and in a denied folder or name inside the home are never read, listed, stat'ed, written, renamed
// onto or deleted; every read-side attempt gets the protocol's refusal; and the server still
// answers at the end. One server per backend; reads run first on every protocol at once, then the
// writes (a confined write may create the name a later read would then find inside the home).
import { afterAll, describe, expect, test } from 'bun:test';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { azureBackend, cryptBackend, gcsBackend, localBackend, s3Backend, sftpBackend, snapshotDir, type EscapeBackend } from '../../support/escape-backends.ts';
import {
  ftpAttempts, openSftp, rawHttp, SHARE_PAYLOAD, sftpAttempts, shareAttempts, sshCommandAttempts, sshConnect, userApiAttempts, userToken, webdavAttempts,
  type Attempt, type AttemptKind,
} from '../../support/escape-probes.ts';
import { CANARY_MARK, escapeTricks, shareTricks, type Trick } from '../../support/escape-tricks.ts';
import { freePort } from '../../support/net.ts';
import { run } from '../../support/run.ts';
import { sftpBatchSync } from '../../support/sftp-batch.ts';
import { TEST_SECRETS } from '../../support/secrets.ts';
import { startServer, type RunningServer } from '../../support/server.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';

const PASSWORD = TEST_SECRETS.userPassword;
const SHARE_OUT = 'SHAREOUT-the owner kept this out of the share';

/** What each canary holds; a digest of each too, for the checksum commands. */
const CANARIES: Record<string, string> = {
  out: `${CANARY_MARK}outside the home`,
  top: `${CANARY_MARK}two levels above the home`,
  sib: `${CANARY_MARK}in the sibling's home`,
  vfp: `${CANARY_MARK}beside the virtual folder`,
  priv: `${CANARY_MARK}in the denied folder`,
  nfc: `${CANARY_MARK}in the denied NFC folder`,
  key: `${CANARY_MARK}behind the denied pattern`,
};
const DIGESTS = Object.values(CANARIES).flatMap((c) => ['sha256', 'md5'].map((a) => createHash(a).update(c).digest('hex')));
/** Names only a listing that escaped would show. */
const HIDDEN_NAMES = ['canary-', 'secret.key'];

/** Proper refusals per protocol, on the read side. */
const REFUSALS: Record<string, RegExp> = {
  SFTP: /^status (2|3)$/,
  'SSH commands': /^(exit 1|scp refused)$/,
  FTP: /^(550|553|501)$/,
  WebDAV: /^(400|403|404)$/,
  'user API': /^(400|403|404)$/,
  shares: /^(400|403|404)$/,
};

interface Run {
  backend: string;
  attempts: Attempt[];
  escapes: string[];
  improper: string[];
}
const runs: Run[] = [];

afterAll(() => {
  const lines = runs.map((r) => {
    const by = new Map<string, number>();
    for (const a of r.attempts) by.set(a.protocol, (by.get(a.protocol) ?? 0) + 1);
    return `${r.backend}: ${[...by].map(([p, n]) => `${p} ${n}`).join(', ')}; tried ${r.attempts.length}, escapes ${r.escapes.length}`;
  });
  if (lines.length) console.log(`escape matrix\n${lines.join('\n')}\ntotal tried ${runs.reduce((n, r) => n + r.attempts.length, 0)}, escapes ${runs.reduce((n, r) => n + r.escapes.length, 0)}`);
  removeTempDirs();
});

/** What an attempt gave away, if anything. */
function leak(a: Attempt): string | undefined {
  if (a.output.includes(CANARY_MARK)) return 'canary content';
  if (a.protocol === 'shares' && a.output.includes('SHAREOUT-')) return "content outside the share";
  if (DIGESTS.some((d) => a.output.includes(d))) return 'canary checksum';
  if (a.ok && a.kind === 'read' && HIDDEN_NAMES.some((n) => a.output.includes(n))) return 'canary name in a listing';
  return undefined;
}

/** `n` consecutive free loopback ports below the ephemeral range, for FTP passive connections. */
async function freePortRange(n: number): Promise<number> {
  const { createServer } = await import('node:net');
  const bindable = (port: number): Promise<boolean> => new Promise((res) => {
    const srv = createServer();
    srv.once('error', () => res(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => res(true)));
  });
  for (let tries = 0; tries < 50; tries++) {
    const start = 20_000 + Math.floor(Math.random() * 12_000);
    if ((await Promise.all(Array.from({ length: n }, (_, i) => bindable(start + i)))).every(Boolean)) return start;
  }
  throw new Error(`no ${n} consecutive free ports`);
}

/**
 * Proper answers on the write side, beside success (a confined write lands inside the home): the
 * read side's refusals, and what a write may also meet (a failure, an unsupported operation, a
 * name that cannot be used, a conflict, an operation across mounts).
 */
const WRITE_REFUSALS: Record<string, RegExp> = {
  // 5: a name the backend cannot store (Azure reads a backslash as a slash, so it is refused).
  SFTP: /^status (2|3|4|5|8)$/,
  'SSH commands': /^(exit 1|scp refused.*)$/s,
  FTP: /^(550|553|501|504)$/,
  WebDAV: /^(400|403|404|405|409|501)$/,
  'user API': /^(400|403|404|409)$/,
  shares: /^(400|403|404)$/,
};

/** A read-side answer that is right although it is not a refusal. */
function expectedSuccess(a: Attempt): boolean {
  // lstat describes a link itself (inside the home), never what it points to.
  return a.op === 'lstat' && LINKS.has(a.trick.path);
}
const LINKS = new Set(['/link-out', '/link-up', '/link-abs', '/vf/up']);

/** A refusal that is the protocol's proper answer for this trick. */
function properRefusal(a: Attempt): boolean {
  if (REFUSALS[a.protocol]!.test(a.code)) return true;
  // A NUL byte makes the request malformed: SFTP says so (bad message).
  if (a.trick.path.includes('\0') && a.protocol === 'SFTP' && a.code === 'status 5') return true;
  // A backend with no links has no readlink (operation unsupported).
  return a.op === 'readlink' && a.code === 'status 8';
}

interface Harness {
  server: RunningServer;
  ports: { sftp: number; ftp: number; dav: number; http: number };
  /** The virtual folder's parent directory (a local folder for every backend). */
  vfParent: string;
}

async function startFor(backend: EscapeBackend): Promise<Harness> {
  const dir = tempDir(`escape-${backend.name}-`);
  const vfParent = join(dir, 'vfparent');
  mkdirSync(join(vfParent, 'vf'), { recursive: true });
  writeFileSync(join(vfParent, 'canary-vfp.txt'), CANARIES.vfp!);
  writeFileSync(join(vfParent, 'vf', 'in-folder.txt'), 'inside the virtual folder');
  // A symlink inside the folder to its parent, made on the disk beside the server.
  const { symlinkSync } = await import('node:fs');
  symlinkSync('..', join(vfParent, 'vf', 'up'));
  const passive = await freePortRange(8);
  const ports = { sftp: await freePort(), ftp: await freePort(), dav: await freePort(), http: await freePort() };
  const siblingHome = join(dir, 'sibling-home');
  mkdirSync(siblingHome, { recursive: true });
  // The matrix opens many connections from 127.0.0.1 at once: the per-host cap (20) would refuse them.
  const yaml = `common:
  max_per_host_connections: 0
sftpd:
  bindings: [{ address: 127.0.0.1, port: ${ports.sftp} }]
ftpd:
  bindings: [{ address: 127.0.0.1, port: ${ports.ftp} }]
  passive_port_range: { start: ${passive}, end: ${passive + 7} }
webdavd:
  bindings: [{ address: 127.0.0.1, port: ${ports.dav} }]
httpd:
  bindings: [{ address: 127.0.0.1, port: ${ports.http} }]
data_provider:
  password_hashing: { bcrypt_options: { cost: 4 } }
folders:
  - { name: vf, mapped_path: ${join(vfParent, 'vf')} }
users:
  - username: victim
    password: "${PASSWORD}"
${backend.userYaml(join(dir, 'victim-local'))}    permissions: { "/": ["*"], "/private": [], "/priv\u00e9": [] }
    virtual_folders: [{ name: vf, virtual_path: /vf }]
    filters:
      file_patterns: [{ path: /, denied_patterns: ["*.key"], deny_policy: 1 }]
  - username: owner
    password: "${PASSWORD}"
${backend.userYaml(join(dir, 'owner-local'))}    permissions: { "/": ["*"] }
  - username: sibling
    password: "${PASSWORD}"
    home_dir: ${siblingHome}
    permissions: { "/": ["*"] }
`;
  const server = await startServer({ yaml, cwd: dir });
  return { server, ports, vfParent };
}

/** The canaries outside the home (on the backend) and inside it (through the unrestricted owner). */
async function plant(backend: EscapeBackend, h: Harness): Promise<void> {
  await backend.put('homes/canary-out.txt', CANARIES.out!);
  await backend.put('canary-top.txt', CANARIES.top!);
  await backend.put('homes/sibling/canary-sib.txt', CANARIES.sib!);
  const client = await sshConnect({ port: h.ports.sftp, username: 'owner', password: PASSWORD });
  try {
    const sftp = await openSftp(client);
    const call = (fn: (cb: (err?: Error | null) => void) => void): Promise<void> => new Promise((res, rej) => fn((err) => (err ? rej(err) : res())));
    for (const d of ['/private', '/priv\u00e9', '/shared', '/inbox', '/sub']) await call((cb) => sftp.mkdir(d, cb));
    const files: Record<string, string> = {
      '/private/canary-priv.txt': CANARIES.priv!,
      '/priv\u00e9/canary-nfc.txt': CANARIES.nfc!,
      '/secret.key': CANARIES.key!,
      '/share-outside.txt': SHARE_OUT,
      '/shared/public.txt': 'shared on purpose',
      '/hello.txt': 'hello',
    };
    for (const [p, content] of Object.entries(files)) await call((cb) => sftp.writeFile(p, content, cb));
  } finally {
    client.end();
  }
  if (backend.links && backend.link) {
    backend.link('homes/victim/link-out', '../canary-out.txt');
    backend.link('homes/victim/link-up', '..');
    backend.link('homes/victim/link-abs', join(backend.homeAbs, '..', '..', 'canary-top.txt'));
    backend.link('homes/victim/sub/link-deep', '../..');
  }
}

/** Everything below the home as the unrestricted owner sees it: path to content. */
async function homeContents(h: Harness): Promise<Map<string, string>> {
  const client = await sshConnect({ port: h.ports.sftp, username: 'owner', password: PASSWORD });
  const out = new Map<string, string>();
  try {
    const sftp = await openSftp(client);
    const walk = async (dir: string): Promise<void> => {
      const list = await new Promise<{ filename: string; attrs: { isDirectory(): boolean; isFile(): boolean } }[]>((res, rej) => sftp.readdir(dir, (err, l) => (err ? rej(err) : res(l as never))));
      for (const e of list) {
        const p = `${dir === '/' ? '' : dir}/${e.filename}`;
        if (e.attrs.isDirectory()) await walk(p);
        else if (e.attrs.isFile()) out.set(p, await new Promise<string>((res) => sftp.readFile(p, (err, b) => res(err ? '' : b.toString()))));
      }
    };
    await walk('/');
  } finally {
    client.end();
  }
  return out;
}

async function shareIds(h: Harness, token: string): Promise<{ readId: string; writeId: string }> {
  const make = async (body: object): Promise<string> => {
    const r = await rawHttp(h.ports.http, { method: 'POST', target: '/api/v2/user/shares', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    const id = /x-object-id: (\S+)/i.exec(r.headers)?.[1];
    if (r.status !== 201 || !id) throw new Error(`share: ${r.status} ${r.body}`);
    return id;
  };
  return { readId: await make({ name: 'r', scope: 1, paths: ['/shared'] }), writeId: await make({ name: 'w', scope: 2, paths: ['/inbox'] }) };
}

/**
 * The operations run on the slower backends: the object stores and sshd only see paths the core
 * has already cleaned, so one read, listing and write of each kind per protocol covers what is
 * theirs (how a cleaned path becomes a key or a remote path); the full set runs on local and crypt.
 */
const LITE_OPS = new Set(['stat', 'read', 'readdir', 'write', 'rename onto', 'remove', 'sha256sum', 'scp -f', 'scp -t', 'RETR', 'LIST', 'SIZE', 'STOR', 'DELE', 'RNFR/RNTO from',
  'GET', 'PROPFIND', 'PUT', 'MOVE onto', 'DELETE', 'GET files', 'GET dirs', 'upload', 'delete file', 'upload name']);

/** The slowest emulators (s3rver, azurite) get one read, one listing and one write per protocol. */
const MINIMAL_OPS = new Set(['stat', 'read', 'write', 'rename onto', 'scp -f', 'RETR', 'LIST', 'STOR', 'GET', 'PROPFIND', 'PUT', 'GET files', 'GET dirs', 'upload', 'upload name']);

type Depth = 'full' | 'lite' | 'minimal';

interface PhaseOptions {
  tricks: Trick[];
  token: string;
  shares: { readId: string; writeId: string };
  kind: AttemptKind;
  depth: Depth;
  /**
   * One protocol after the other: an object store renames by copy and delete, so two protocols
   * writing the same cleaned names at once can make each other's renames fail halfway.
   */
  oneAtATime?: boolean;
}

async function phase(h: Harness, o: PhaseOptions): Promise<Attempt[]> {
  const victim = { username: 'victim', password: PASSWORD };
  const ops = o.depth === 'minimal' ? MINIMAL_OPS : o.depth === 'lite' ? LITE_OPS : undefined;
  const run = { tricks: o.tricks, kind: o.kind, ...(ops ? { ops } : {}) };
  const protocols = [
    () => sftpAttempts({ port: h.ports.sftp, ...victim }, run),
    () => sshCommandAttempts({ port: h.ports.sftp, ...victim }, run),
    () => ftpAttempts({ port: h.ports.ftp, ...victim }, run),
    () => webdavAttempts({ port: h.ports.dav, ...victim }, run),
    () => userApiAttempts({ port: h.ports.http, ...victim, token: o.token }, run),
    () => shareAttempts({ port: h.ports.http, ...o.shares }, { ...run, tricks: shareTricks().filter((t) => o.depth === 'full' || t.lite) }),
  ];
  if (!o.oneAtATime) return (await Promise.all(protocols.map((p) => p()))).flat();
  const results: Attempt[] = [];
  for (const p of protocols) results.push(...(await p()));
  return results;
}

/**
 * The real clients, where they pass a path through as written: OpenSSH sftp (batch, each command
 * allowed to fail), lftp, and curl with --path-as-is on WebDAV and the user API. What each printed
 * and downloaded must hold no canary.
 */
async function realClientAttempts(h: Harness, dir: string, token: string): Promise<Attempt[]> {
  const paths = ['../canary-out.txt', '/../../canary-top.txt', '../sibling/canary-sib.txt', '/link-out', '/link-up/canary-out.txt', '/vf/../../canary-vfp.txt', '/vf/up/canary-vfp.txt',
    '/private/canary-priv.txt', '/PRIVATE/canary-priv.txt', '/secret.key', '/secret.KEY'];
  const out: Attempt[] = [];
  const got = (file: string): string => (existsSync(file) ? readFileSync(file, 'utf8') : '');
  // Only a listing that succeeded is searched for canary names (error messages echo the path).
  const record = (protocol: string, op: string, path: string, output: string, listed = false): void =>
    void out.push({ protocol, op, kind: 'read', trick: { name: 'real client', path }, ok: listed, code: 'client', output });
  mkdirSync(join(dir, 'dl'), { recursive: true });
  // A plain download first and last: the clients were logged in and working throughout.
  const hello = (tool: string, n: number): string => join(dir, 'dl', `${tool}-hello-${n}`);
  const batch = [`get /hello.txt ${hello('sftp', 1)}`, ...paths.flatMap((p, i) => [`-get "${p}" ${join(dir, 'dl', `sftp-${i}`)}`, `-ls -la "${p}"`]), `get /hello.txt ${hello('sftp', 2)}`];
  const sftp = sftpBatchSync({ port: h.ports.sftp, user: 'victim', password: PASSWORD, dir, lines: batch });
  record('sftp (client)', 'get, ls', paths.join(' '), sftp.stdout + sftp.stderr + paths.map((_, i) => got(join(dir, 'dl', `sftp-${i}`))).join(''));
  const lftpCmds = [`get /hello.txt -o ${hello('lftp', 1)}`, ...paths.map((p, i) => `get "${p}" -o ${join(dir, 'dl', `lftp-${i}`)}; cls -l "${p}"`), `get /hello.txt -o ${hello('lftp', 2)}`].join('; ');
  const lftp = await run('lftp', ['-c', `set net:max-retries 1; set cmd:fail-exit no; open -u victim,${PASSWORD} -p ${h.ports.ftp} 127.0.0.1; ${lftpCmds}`]);
  record('lftp (client)', 'get, cls', paths.join(' '), lftp.stdout + lftp.stderr + paths.map((_, i) => got(join(dir, 'dl', `lftp-${i}`))).join(''));
  for (const tool of ['sftp', 'lftp']) for (const n of [1, 2]) expect(got(hello(tool, n))).toBe('hello');
  for (const p of paths) {
    const dav = await run('curl', ['-sS', '--path-as-is', '-u', `victim:${PASSWORD}`, `http://127.0.0.1:${h.ports.dav}/${p.replace(/^\/+/, '')}`]);
    record('curl (client)', 'WebDAV GET', p, dav.stdout);
    const propfind = await run('curl', ['-sS', '--path-as-is', '-X', 'PROPFIND', '-H', 'Depth: 1', '-u', `victim:${PASSWORD}`, `http://127.0.0.1:${h.ports.dav}/${p.replace(/^\/+/, '')}`]);
    record('curl (client)', 'WebDAV PROPFIND', p, propfind.stdout, /multistatus/i.test(propfind.stdout));
    const api = await run('curl', ['-sS', '--path-as-is', '-H', `Authorization: Bearer ${token}`, `http://127.0.0.1:${h.ports.http}/api/v2/user/files?path=${encodeURIComponent(p)}`]);
    record('curl (client)', 'user API GET files', p, api.stdout);
  }
  return out;
}

const BACKENDS: { name: string; depth: Depth; start(): EscapeBackend | Promise<EscapeBackend> }[] = [
  { name: 'local', depth: 'full', start: localBackend },
  { name: 'crypt', depth: 'lite', start: cryptBackend },
  { name: 's3', depth: 'minimal', start: s3Backend },
  { name: 'gcs', depth: 'lite', start: gcsBackend },
  { name: 'azblob', depth: 'minimal', start: azureBackend },
  { name: 'sftp', depth: 'lite', start: sftpBackend },
];

describe('path-escape matrix', () => {
  for (const b of BACKENDS) {
    test(`${b.name}: no trick reaches a canary on any protocol`, async () => {
      const backend = await b.start();
      const h = await startFor(backend).catch(async (err: unknown) => (await backend.stop(), Promise.reject(err)));
      try {
        await plant(backend, h);
        const outside = await backend.snapshot();
        const vfBefore = snapshotDir(h.vfParent, ['vf']);
        const tricks = escapeTricks({ homeAbs: backend.homeAbs }).filter((t) => (!t.needsLinks || backend.links) && (b.depth === 'full' || t.lite));
        const token = await userToken({ port: h.ports.http, username: 'victim', password: PASSWORD });
        const shares = await shareIds(h, token);
        const attempts = [...(await phase(h, { tricks, token, shares, kind: 'read', depth: b.depth }))];
        if (b.depth === 'full') attempts.push(...(await realClientAttempts(h, tempDir('escape-clients-'), token)));
        attempts.push(...(await phase(h, { tricks, token, shares, kind: 'write', depth: b.depth, oneAtATime: !backend.links })));

        const escapes: string[] = [];
        const improper: string[] = [];
        for (const a of attempts) {
          const what = leak(a);
          if (what) escapes.push(`${a.protocol} ${a.op} ${JSON.stringify(a.trick.path)} (${a.trick.name}): ${what}`);
          else if (a.code !== 'client' && a.kind === 'read' && (a.ok ? !expectedSuccess(a) : !properRefusal(a)))
            improper.push(`${a.protocol} ${a.op} ${JSON.stringify(a.trick.path)} (${a.trick.name}): ${a.ok ? 'succeeded' : a.code}`);
          else if (a.kind === 'write' && !a.ok && !properRefusal(a) && !WRITE_REFUSALS[a.protocol]!.test(a.code))
            improper.push(`${a.protocol} ${a.op} ${JSON.stringify(a.trick.path)} (${a.trick.name}): ${a.code}`);
        }
        // Nothing outside the home changed, the canaries inside it are intact, and no other file
        // in the home holds canary content (a copy or rename out of a canary).
        const after = await backend.snapshot();
        for (const [k, v] of outside) if (after.get(k) !== v) escapes.push(`${k} outside the home was ${after.has(k) ? 'changed' : 'removed'}`);
        for (const k of after.keys()) if (!outside.has(k)) escapes.push(`${k} appeared outside the home`);
        const vfAfter = snapshotDir(h.vfParent, ['vf']);
        if (JSON.stringify([...vfAfter]) !== JSON.stringify([...vfBefore])) escapes.push("the virtual folder's parent changed");
        const home = await homeContents(h);
        const kept: Record<string, string> = { '/private/canary-priv.txt': CANARIES.priv!, '/priv\u00e9/canary-nfc.txt': CANARIES.nfc!, '/secret.key': CANARIES.key!, '/share-outside.txt': SHARE_OUT };
        for (const [p, c] of Object.entries(kept)) if (home.get(p) !== c) escapes.push(`${p} in the home was ${home.has(p) ? 'changed' : 'removed'}`);
        for (const [p, c] of home) if (!(p in kept) && (c.includes(CANARY_MARK) || c.includes('SHAREOUT-'))) escapes.push(`${p} in the home holds a canary's content`);
        // What the public share received stays in the shared folder.
        for (const [p, c] of home) if (c.includes(SHARE_PAYLOAD) && !p.startsWith('/inbox/')) escapes.push(`${p}: a share upload landed outside the shared folder`);
        // The server still answers every protocol.
        const alive = await rawHttp(h.ports.http, { method: 'GET', target: '/healthz' });
        expect(alive.status).toBe(200);
        const again = await sftpAttempts({ port: h.ports.sftp, username: 'victim', password: PASSWORD }, { tricks: [{ name: 'a plain file', path: '/hello.txt' }], kind: 'read', ops: new Set(['read']) });
        expect(again.find((a) => a.op === 'read')?.output).toBe('hello');

        // Nothing went wrong inside the server on the way (an internal error is not a proper refusal).
        for (const l of h.server.logs) if (l.level === 'error') improper.push(`server error: ${JSON.stringify(l).slice(0, 300)}`);
        if (process.env.ESCAPE_CODES) {
          const codes = new Map<string, number>();
          for (const a of attempts) codes.set(`${a.kind} ${a.protocol} ${a.code}`, (codes.get(`${a.kind} ${a.protocol} ${a.code}`) ?? 0) + 1);
          console.log([...codes].sort().map(([k, n]) => `${k}: ${n}`).join('\n'));
        }
        runs.push({ backend: b.name, attempts, escapes, improper });
        expect(escapes).toEqual([]);
        expect(improper).toEqual([]);
      } finally {
        await h.server.stop();
        await backend.stop();
      }
    }, 120_000);
  }
});
