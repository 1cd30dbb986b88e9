// Drivers for the escape matrix: each sends one trick path through one operation of one protocol
// at the wire level (ssh2's raw SFTP requests and exec channels, a raw FTP control socket, raw
// HTTP/1.1 requests on a TCP socket, so nothing between the test and the server normalises the
// path), and reports the protocol's answer and whatever content came back.
import { connect } from 'node:net';
import { Client, type SFTPWrapper } from '../../src/lib/ssh2.ts';

type SshClient = InstanceType<typeof Client>;
import { FtpControl } from './ftp-client.ts';
import { wirePath, wireQuery, type Trick } from './escape-tricks.ts';

export type AttemptKind = 'read' | 'write';

export interface Attempt {
  protocol: string;
  op: string;
  kind: AttemptKind;
  trick: Trick;
  /** The request succeeded. */
  ok: boolean;
  /** The protocol's answer: SFTP status, FTP reply code, HTTP status, SCP/command outcome. */
  code: string;
  /** Content a successful answer carried (file bytes, listings, command output). */
  output: string;
}

/** One pass of a protocol's probes: these tricks, the operations of this kind (only those named in `ops`, when given). */
export interface ProbeRun {
  tricks: readonly Trick[];
  kind: AttemptKind;
  ops?: ReadonlySet<string>;
}

export const PAYLOAD = 'ESCAPE-PAYLOAD written through a trick path\n';
/** What the public share uploads write: every file holding it must end up in the shared folder. */
export const SHARE_PAYLOAD = 'SHARE-PAYLOAD uploaded through a public share\n';

/** Runs `fn` over `items` with at most `limit` at a time. */
export async function eachLimited<T>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!, i);
    }
  }));
}

// ---- SSH: SFTP requests, SCP and commands on exec channels ----

export interface SshTarget {
  port: number;
  username: string;
  password: string;
}

export function sshConnect(t: SshTarget): Promise<SshClient> {
  const client = new Client();
  return new Promise((resolve, reject) => {
    client.once('ready', () => resolve(client));
    client.once('error', reject);
    client.connect({ host: '127.0.0.1', port: t.port, username: t.username, password: t.password, readyTimeout: 30_000 });
  });
}

export function openSftp(client: SshClient): Promise<SFTPWrapper> {
  return new Promise((resolve, reject) => client.sftp((err, sftp) => (err ? reject(err) : resolve(sftp))));
}

type Cb<T> = (err: Error | undefined | null, value: T) => void;
function call<T>(fn: (cb: Cb<T>) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))));
}
const sftpCode = (err: unknown): string => `status ${(err as { code?: unknown }).code ?? (err as Error).message}`;

async function sftpRead(sftp: SFTPWrapper, path: string): Promise<string> {
  const handle = await call<Buffer>((cb) => sftp.open(path, 'r', cb));
  try {
    const buf = Buffer.alloc(65536);
    const n = await call<number>((cb) => sftp.read(handle, buf, 0, buf.length, 0, (err, bytes) => cb(err, bytes)));
    return buf.subarray(0, n).toString('utf8');
  } finally {
    await call<void>((cb) => sftp.close(handle, (err) => cb(err, undefined))).catch(() => undefined);
  }
}

async function sftpList(sftp: SFTPWrapper, path: string): Promise<string> {
  const handle = await call<Buffer>((cb) => sftp.opendir(path, cb));
  try {
    const names: string[] = [];
    for (;;) {
      const page = await call<{ filename: string; longname: string }[] | false>((cb) => sftp.readdir(handle, cb as never)).catch((err: { code?: number }) => {
        if (err.code === 1) return false; // EOF
        throw err;
      });
      if (!Array.isArray(page)) break;
      names.push(...page.map((e) => e.longname));
    }
    return names.join('\n');
  } finally {
    await call<void>((cb) => sftp.close(handle, (err) => cb(err, undefined))).catch(() => undefined);
  }
}

async function sftpWrite(sftp: SFTPWrapper, path: string): Promise<void> {
  const handle = await call<Buffer>((cb) => sftp.open(path, 'w', cb));
  try {
    await call<void>((cb) => sftp.write(handle, Buffer.from(PAYLOAD), 0, PAYLOAD.length, 0, (err) => cb(err, undefined)));
  } finally {
    await call<void>((cb) => sftp.close(handle, (err) => cb(err, undefined))).catch(() => undefined);
  }
}

type Op = { op: string; kind: AttemptKind; run(path: string, n: number): Promise<string | void> };

function sftpOps(sftp: SFTPWrapper): Op[] {
  const done = (fn: (cb: (err: Error | undefined | null) => void) => void): Promise<void> => call<void>((cb) => fn((err) => cb(err, undefined)));
  const seed = async (n: number): Promise<string> => {
    const p = `/seed-sftp-${n}`;
    await sftpWrite(sftp, p);
    return p;
  };
  return [
    { op: 'stat', kind: 'read', run: async (p) => JSON.stringify(await call((cb) => sftp.stat(p, cb))) },
    { op: 'lstat', kind: 'read', run: async (p) => JSON.stringify(await call((cb) => sftp.lstat(p, cb))) },
    { op: 'read', kind: 'read', run: (p) => sftpRead(sftp, p) },
    { op: 'readdir', kind: 'read', run: (p) => sftpList(sftp, p) },
    { op: 'readlink', kind: 'read', run: (p) => call<string>((cb) => sftp.readlink(p, cb)) },
    { op: 'write', kind: 'write', run: (p) => sftpWrite(sftp, p) },
    { op: 'mkdir', kind: 'write', run: (p) => done((cb) => sftp.mkdir(p, cb)) },
    { op: 'setstat', kind: 'write', run: (p) => done((cb) => sftp.setstat(p, { mode: 0o600, mtime: 1, atime: 1 }, cb)) },
    { op: 'rename from', kind: 'write', run: (p, n) => done((cb) => sftp.rename(p, `/stolen-sftp-${n}`, cb)) },
    { op: 'rename onto', kind: 'write', run: async (p, n) => { const s = await seed(n); await done((cb) => sftp.rename(s, p, cb)); } },
    { op: 'posix-rename onto', kind: 'write', run: async (p, n) => { const s = await seed(n + 100_000); await done((cb) => sftp.ext_openssh_rename(s, p, cb)); } },
    { op: 'hardlink from', kind: 'write', run: async (p, n) => { await done((cb) => sftp.ext_openssh_hardlink(p, `/hl-sftp-${n}`, cb)); return sftpRead(sftp, `/hl-sftp-${n}`); } },
    { op: 'symlink to, then read', kind: 'write', run: async (p, n) => { await done((cb) => sftp.symlink(p, `/sl-sftp-${n}`, cb)); return sftpRead(sftp, `/sl-sftp-${n}`); } },
    { op: 'remove', kind: 'write', run: (p) => done((cb) => sftp.unlink(p, cb)) },
    { op: 'rmdir', kind: 'write', run: (p) => done((cb) => sftp.rmdir(p, cb)) },
  ];
}

const chosen = (op: { op: string; kind: AttemptKind }, run: ProbeRun): boolean => op.kind === run.kind && (!run.ops || run.ops.has(op.op));

async function runOps(protocol: string, ops: Op[], run: ProbeRun, limit: number, code: (err: unknown) => string): Promise<Attempt[]> {
  const { tricks, kind } = run;
  const jobs = tricks.flatMap((trick) => ops.filter((o) => chosen(o, run)).map((o) => ({ trick, o })));
  const out: Attempt[] = [];
  await eachLimited(jobs, limit, async ({ trick, o }, n) => {
    try {
      const output = (await o.run(trick.path, n)) ?? '';
      out.push({ protocol, op: o.op, kind, trick, ok: true, code: 'ok', output });
    } catch (err) {
      out.push({ protocol, op: o.op, kind, trick, ok: false, code: code(err), output: '' });
    }
  });
  return out;
}

export async function sftpAttempts(t: SshTarget, run: ProbeRun): Promise<Attempt[]> {
  const client = await sshConnect(t);
  try {
    const sftp = await openSftp(client);
    return await runOps('SFTP', sftpOps(sftp), run, 16, sftpCode);
  } finally {
    client.end();
  }
}

/** One exec channel: what it printed (stdout and stderr) and its exit code. */
function exec(client: SshClient, command: string, input?: (write: (b: Buffer | string) => void, received: () => Buffer) => Promise<void>): Promise<{ out: Buffer; code: number | null }> {
  return new Promise((resolve, reject) => {
    client.exec(command, (err, ch) => {
      if (err) return reject(err);
      const chunks: Buffer[] = [];
      let code: number | null = null;
      ch.on('data', (d: Buffer) => chunks.push(d));
      ch.stderr.on('data', (d: Buffer) => chunks.push(d));
      ch.on('exit', (c: number | null) => (code = c));
      ch.on('close', () => resolve({ out: Buffer.concat(chunks), code }));
      const timer = setTimeout(() => ch.close(), 10_000);
      ch.on('close', () => clearTimeout(timer));
      if (input) void input((b) => ch.write(b), () => Buffer.concat(chunks)).then(() => ch.end(), () => ch.close());
      else ch.end();
    });
  });
}

const waitFor = async (pred: () => boolean, ms = 5000): Promise<void> => {
  const until = Date.now() + ms;
  while (!pred() && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
};

/** Quotes for the server's command-line split (single quotes, as a shell). */
const q = (p: string): string => `'${p.replaceAll("'", "'\\''")}'`;

export async function sshCommandAttempts(t: SshTarget, run: ProbeRun): Promise<Attempt[]> {
  const client = await sshConnect(t);
  const ops: Op[] = [
    { op: 'sha256sum', kind: 'read', run: async (p) => { const r = await exec(client, `sha256sum ${q(p)}`); if (r.code !== 0) throw new Error(`exit ${r.code}`); return r.out.toString(); } },
    { op: 'md5sum', kind: 'read', run: async (p) => { const r = await exec(client, `md5sum ${q(p)}`); if (r.code !== 0) throw new Error(`exit ${r.code}`); return r.out.toString(); } },
    { op: 'scp -f', kind: 'read', run: async (p) => {
      const r = await exec(client, `scp -f ${q(p)}`, async (write, received) => {
        write(Buffer.from([0]));
        await waitFor(() => received().length > 0);
        const first = received()[0];
        if (first !== 0x43 && first !== 0x44) return; // C or D: the file or directory is coming
        write(Buffer.from([0]));
        await waitFor(() => received().includes(0, 1), 5000);
        write(Buffer.from([0]));
      });
      const first = r.out[0];
      if (first !== 0x43 && first !== 0x44) throw new Error(first === 1 || first === 2 ? 'scp refused' : `exit ${r.code}`);
      return r.out.toString();
    } },
    { op: 'scp -t', kind: 'write', run: async (p) => {
      let acked = false;
      const r = await exec(client, `scp -t ${q(p)}`, async (write, received) => {
        await waitFor(() => received().length > 0);
        if (received()[0] !== 0) return;
        write(`C0644 ${PAYLOAD.length} payload.txt\n`);
        await waitFor(() => received().length > 1);
        if (received()[1] !== 0) return;
        write(PAYLOAD);
        write(Buffer.from([0]));
        await waitFor(() => received().length > 2);
        acked = received()[2] === 0;
      });
      if (!acked) throw new Error(`scp refused (${JSON.stringify(r.out.toString().slice(0, 80))})`);
    } },
  ];
  try {
    return await runOps('SSH commands', ops, run, 8, (err) => (err as Error).message);
  } finally {
    client.end();
  }
}

// ---- FTP: a raw control connection ----

export interface FtpTarget {
  port: number;
  username: string;
  password: string;
}

class FtpRefusal extends Error {
  constructor(readonly code: number, text: string) {
    super(`${code} ${text}`);
  }
}

export async function ftpAttempts(t: FtpTarget, run: ProbeRun): Promise<Attempt[]> {
  const { tricks, kind } = run;
  const lanes = await Promise.all([0, 1].map(async () => {
    const c = await FtpControl.connect(t.port);
    const r = await c.login(t.username, t.password);
    if (r.code !== 230) throw new Error(`FTP login: ${r.code} ${r.text}`);
    await c.send('TYPE I');
    return c;
  }));
  const expectOk = async (c: FtpControl, line: string, ok: (code: number) => boolean): Promise<string> => {
    const r = await c.send(line);
    if (!ok(r.code)) throw new FtpRefusal(r.code, r.text);
    return r.lines.join('\n');
  };
  const pos = (code: number): boolean => code >= 200 && code < 400;
  const transfer = async (c: FtpControl, line: string, upload?: Buffer): Promise<string> => {
    const r = await c.transfer(line, upload);
    if (!(r.first.code === 150 || r.first.code === 125)) throw new FtpRefusal(r.first.code, r.first.text);
    if (!r.last || r.last.code !== 226) throw new FtpRefusal(r.last?.code ?? 0, r.last?.text ?? 'no final reply');
    return r.data.toString('utf8');
  };
  const ops = (c: FtpControl): Op[] => [
    { op: 'SIZE', kind: 'read', run: (p) => expectOk(c, `SIZE ${p}`, pos) },
    { op: 'MDTM', kind: 'read', run: (p) => expectOk(c, `MDTM ${p}`, pos) },
    { op: 'MLST', kind: 'read', run: (p) => expectOk(c, `MLST ${p}`, pos) },
    { op: 'STAT', kind: 'read', run: (p) => expectOk(c, `STAT ${p}`, (code) => code === 211 || code === 212 || code === 213) },
    { op: 'CWD', kind: 'read', run: async (p) => { try { return await expectOk(c, `CWD ${p}`, pos); } finally { await c.send('CWD /'); } } },
    { op: 'RETR', kind: 'read', run: (p) => transfer(c, `RETR ${p}`) },
    { op: 'LIST', kind: 'read', run: (p) => transfer(c, `LIST ${p}`) },
    { op: 'NLST', kind: 'read', run: (p) => transfer(c, `NLST ${p}`) },
    { op: 'MLSD', kind: 'read', run: (p) => transfer(c, `MLSD ${p}`) },
    { op: 'STOR', kind: 'write', run: (p) => transfer(c, `STOR ${p}`, Buffer.from(PAYLOAD)) },
    { op: 'APPE', kind: 'write', run: (p) => transfer(c, `APPE ${p}`, Buffer.from(PAYLOAD)) },
    { op: 'MKD', kind: 'write', run: (p) => expectOk(c, `MKD ${p}`, pos) },
    { op: 'SITE CHMOD', kind: 'write', run: (p) => expectOk(c, `SITE CHMOD 600 ${p}`, pos) },
    { op: 'MFMT', kind: 'write', run: (p) => expectOk(c, `MFMT 20200101000000 ${p}`, pos) },
    { op: 'RNFR/RNTO from', kind: 'write', run: async (p, n) => { await expectOk(c, `RNFR ${p}`, (code) => code === 350); return expectOk(c, `RNTO /stolen-ftp-${n}`, pos); } },
    { op: 'RNFR/RNTO onto', kind: 'write', run: async (p, n) => {
      await transfer(c, `STOR /seed-ftp-${n}`, Buffer.from(PAYLOAD));
      await expectOk(c, `RNFR /seed-ftp-${n}`, (code) => code === 350);
      return expectOk(c, `RNTO ${p}`, pos);
    } },
    { op: 'DELE', kind: 'write', run: (p) => expectOk(c, `DELE ${p}`, pos) },
    { op: 'RMD', kind: 'write', run: (p) => expectOk(c, `RMD ${p}`, pos) },
  ];
  // A path with CR or LF cannot be sent on an FTP command line.
  const usable = tricks.filter((t) => !/[\r\n]/.test(t.path));
  const out: Attempt[] = [];
  try {
    const jobs = usable.flatMap((trick) => ops(lanes[0]!).filter((o) => chosen(o, run)).map((o) => ({ trick, op: o.op })));
    const perLane = lanes.map((c) => new Map(ops(c).map((o) => [o.op, o])));
    await Promise.all(lanes.map(async (_c, lane) => {
      for (let i = lane; i < jobs.length; i += lanes.length) {
        const { trick, op } = jobs[i]!;
        const o = perLane[lane]!.get(op)!;
        try {
          const output = (await o.run(trick.path, i)) ?? '';
          out.push({ protocol: 'FTP', op, kind, trick, ok: true, code: 'ok', output });
        } catch (err) {
          out.push({ protocol: 'FTP', op, kind, trick, ok: false, code: err instanceof FtpRefusal ? String(err.code) : (err as Error).message, output: '' });
        }
      }
    }));
  } finally {
    for (const c of lanes) c.close();
  }
  return out;
}

// ---- HTTP: raw requests, so no client library cleans the path first ----

export interface RawResponse {
  status: number;
  headers: string;
  body: string;
}

export function rawHttp(port: number, req: { method: string; target: string; headers?: Record<string, string>; body?: string | Buffer }): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const body = req.body === undefined ? undefined : Buffer.from(req.body);
    const head = [`${req.method} ${req.target} HTTP/1.1`, `Host: 127.0.0.1:${port}`, 'Connection: close',
      ...Object.entries(req.headers ?? {}).map(([k, v]) => `${k}: ${v}`),
      ...(body ? [`Content-Length: ${body.length}`] : [])].join('\r\n');
    const s = connect({ host: '127.0.0.1', port }, () => {
      s.write(`${head}\r\n\r\n`);
      if (body) s.write(body);
    });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => s.destroy(new Error(`no HTTP answer to ${req.method} ${req.target}`)), 15_000);
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('error', (err) => (clearTimeout(timer), reject(err)));
    s.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0);
      const split = text.indexOf('\r\n\r\n');
      const headers = split < 0 ? text : text.slice(0, split);
      let raw = split < 0 ? '' : text.slice(split + 4);
      if (/^transfer-encoding:\s*chunked/im.test(headers)) raw = unchunk(raw);
      resolve({ status, headers, body: Buffer.from(raw, 'latin1').toString('utf8') });
    });
  });
}

/** A chunked body's data (latin1 text in and out, so bytes stay bytes). */
function unchunk(raw: string): string {
  let out = '';
  let at = 0;
  for (;;) {
    const eol = raw.indexOf('\r\n', at);
    if (eol < 0) return out + raw.slice(at);
    const size = parseInt(raw.slice(at, eol), 16);
    if (!(size > 0)) return out;
    out += raw.slice(eol + 2, eol + 2 + size);
    at = eol + 2 + size + 2;
  }
}

class HttpRefusal extends Error {
  constructor(readonly status: number, body: string) {
    super(`${status} ${body.slice(0, 120)}`);
  }
}

async function httpOps(protocol: string, port: number, ops: { op: string; kind: AttemptKind; request(path: string, n: number): { method: string; target: string; headers?: Record<string, string>; body?: string | Buffer }; before?(n: number): Promise<void> }[],
  run: ProbeRun): Promise<Attempt[]> {
  const asOps: Op[] = ops.map((o) => ({
    op: o.op, kind: o.kind,
    run: async (p, n) => {
      await o.before?.(n);
      const r = await rawHttp(port, o.request(p, n));
      if (r.status < 200 || r.status >= 300) throw new HttpRefusal(r.status, r.body);
      return r.body;
    },
  }));
  return runOps(protocol, asOps, run, 8, (err) => (err instanceof HttpRefusal ? String(err.status) : (err as Error).message));
}

export interface HttpTarget {
  port: number;
  username: string;
  password: string;
}

const basicAuth = (u: string, p: string): string => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

export function webdavAttempts(t: HttpTarget, run: ProbeRun): Promise<Attempt[]> {
  const auth = { Authorization: basicAuth(t.username, t.password) };
  const url = (p: string): string => wirePath(p.startsWith('/') ? p : `/${p}`);
  const dest = (p: string): string => `http://127.0.0.1:${t.port}${url(p)}`;
  const put = (n: number) => rawHttp(t.port, { method: 'PUT', target: `/seed-dav-${n}`, headers: auth, body: PAYLOAD }).then(() => undefined);
  return httpOps('WebDAV', t.port, [
    { op: 'GET', kind: 'read', request: (p) => ({ method: 'GET', target: url(p), headers: auth }) },
    { op: 'HEAD', kind: 'read', request: (p) => ({ method: 'HEAD', target: url(p), headers: auth }) },
    { op: 'PROPFIND', kind: 'read', request: (p) => ({ method: 'PROPFIND', target: url(p), headers: { ...auth, Depth: '1' } }) },
    { op: 'COPY from', kind: 'read', request: (p, n) => ({ method: 'COPY', target: url(p), headers: { ...auth, Destination: dest(`/stolen-dav-copy-${n}`) } }) },
    { op: 'PUT', kind: 'write', request: (p) => ({ method: 'PUT', target: url(p), headers: auth, body: PAYLOAD }) },
    { op: 'MKCOL', kind: 'write', request: (p) => ({ method: 'MKCOL', target: url(p), headers: auth }) },
    { op: 'PROPPATCH', kind: 'write', request: (p) => ({ method: 'PROPPATCH', target: url(p), headers: { ...auth, 'Content-Type': 'application/xml' },
      body: '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:getlastmodified>Wed, 01 Jan 2020 00:00:00 GMT</D:getlastmodified></D:prop></D:set></D:propertyupdate>' }) },
    { op: 'MOVE from', kind: 'write', request: (p, n) => ({ method: 'MOVE', target: url(p), headers: { ...auth, Destination: dest(`/stolen-dav-${n}`) } }) },
    { op: 'MOVE onto', kind: 'write', before: put, request: (p, n) => ({ method: 'MOVE', target: `/seed-dav-${n}`, headers: { ...auth, Destination: dest(p), Overwrite: 'T' } }) },
    { op: 'COPY onto', kind: 'write', before: put, request: (p, n) => ({ method: 'COPY', target: `/seed-dav-${n}`, headers: { ...auth, Destination: dest(p), Overwrite: 'T' } }) },
    { op: 'DELETE', kind: 'write', request: (p) => ({ method: 'DELETE', target: url(p), headers: auth }) },
  ], run);
}

/** A bearer token for the user API. */
export async function userToken(t: HttpTarget): Promise<string> {
  const r = await rawHttp(t.port, { method: 'GET', target: '/api/v2/user/token', headers: { Authorization: basicAuth(t.username, t.password) } });
  if (r.status !== 200) throw new Error(`user token: ${r.status} ${r.body}`);
  return (JSON.parse(r.body) as { access_token: string }).access_token;
}

export function userApiAttempts(t: HttpTarget & { token: string }, run: ProbeRun): Promise<Attempt[]> {
  const auth = { Authorization: `Bearer ${t.token}` };
  const qp = (p: string): string => wireQuery(p);
  const json = { ...auth, 'Content-Type': 'application/json' };
  const seed = (n: number) => rawHttp(t.port, { method: 'POST', target: `/api/v2/user/files/upload?path=/seed-api-${n}`, headers: auth, body: PAYLOAD }).then(() => undefined);
  return httpOps('user API', t.port, [
    { op: 'GET files', kind: 'read', request: (p) => ({ method: 'GET', target: `/api/v2/user/files?path=${qp(p)}`, headers: auth }) },
    { op: 'GET dirs', kind: 'read', request: (p) => ({ method: 'GET', target: `/api/v2/user/dirs?path=${qp(p)}`, headers: auth }) },
    { op: 'streamzip', kind: 'read', request: (p) => ({ method: 'POST', target: '/api/v2/user/streamzip', headers: json, body: JSON.stringify([p]) }) },
    { op: 'copy from', kind: 'read', request: (p, n) => ({ method: 'POST', target: `/api/v2/user/file-actions/copy?path=${qp(p)}&target=/stolen-api-copy-${n}`, headers: auth }) },
    { op: 'upload', kind: 'write', request: (p) => ({ method: 'POST', target: `/api/v2/user/files/upload?path=${qp(p)}`, headers: auth, body: PAYLOAD }) },
    { op: 'mkdir', kind: 'write', request: (p) => ({ method: 'POST', target: `/api/v2/user/dirs?path=${qp(p)}`, headers: auth }) },
    { op: 'set mtime', kind: 'write', request: (p) => ({ method: 'PATCH', target: `/api/v2/user/files/metadata?path=${qp(p)}`, headers: json, body: '{"modification_time":1000}' }) },
    { op: 'move from', kind: 'write', request: (p, n) => ({ method: 'POST', target: `/api/v2/user/file-actions/move?path=${qp(p)}&target=/stolen-api-${n}`, headers: auth }) },
    { op: 'rename onto', kind: 'write', before: seed, request: (p, n) => ({ method: 'PATCH', target: `/api/v2/user/files?path=/seed-api-${n}&target=${qp(p)}`, headers: auth }) },
    { op: 'copy onto', kind: 'write', before: seed, request: (p, n) => ({ method: 'POST', target: `/api/v2/user/file-actions/copy?path=/seed-api-${n}&target=${qp(p)}`, headers: auth }) },
    { op: 'delete file', kind: 'write', request: (p) => ({ method: 'DELETE', target: `/api/v2/user/files?path=${qp(p)}`, headers: auth }) },
    { op: 'delete dir', kind: 'write', request: (p) => ({ method: 'DELETE', target: `/api/v2/user/dirs?path=${qp(p)}`, headers: auth }) },
  ], run);
}

/** Public share endpoints: `readId` shares /shared (scope 1), `writeId` shares /inbox (scope 2). */
export function shareAttempts(t: { port: number; readId: string; writeId: string }, run: ProbeRun): Promise<Attempt[]> {
  const qp = (p: string): string => wireQuery(p);
  return httpOps('shares', t.port, [
    { op: 'GET dirs', kind: 'read', request: (p) => ({ method: 'GET', target: `/api/v2/shares/${t.readId}/dirs?path=${qp(p)}` }) },
    { op: 'GET files', kind: 'read', request: (p) => ({ method: 'GET', target: `/api/v2/shares/${t.readId}/files?path=${qp(p)}` }) },
    { op: 'upload name', kind: 'write', request: (p) => ({ method: 'POST', target: `/api/v2/shares/${t.writeId}/${wirePath(p).replace(/^\/+/, '')}`, body: SHARE_PAYLOAD }) },
    { op: 'upload name, encoded', kind: 'write', request: (p) => ({ method: 'POST', target: `/api/v2/shares/${t.writeId}/${encodeURIComponent(p)}`, body: SHARE_PAYLOAD }) },
  ], run);
}
