// One large file up and down through every protocol with real clients (OpenSSH sftp and scp -O,
// curl for FTP, WebDAV and the user API), against a door server (door-server.ts) running in this
// process, sampling its RSS during each transfer: what the memory test and its long run share.
import { statSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DoorServer } from './door-server.ts';
import { sampleRss, type RssFigures } from './rss.ts';
import { run } from './run.ts';

export interface TransferFigure {
  protocol: string;
  direction: 'upload' | 'download';
  seconds: number;
  rss: RssFigures;
  ok: boolean;
  detail: string;
}

export interface BigTransferOptions {
  door: DoorServer;
  username: string;
  password: string;
  sizeBytes: number;
  /** Per-transfer time limit. */
  timeoutMs: number;
}

const SSH_OPTS = ['-o', 'BatchMode=no', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR'];

/** Runs every protocol's upload then download of one sparse file of `sizeBytes`. */
export async function bigTransfers(o: BigTransferOptions): Promise<TransferFigure[]> {
  const { door, username: u, password: pw } = o;
  const p = door.ports;
  const source = join(door.dir, 'big-source.bin');
  writeFileSync(source, '');
  // Sparse: reading it costs no disk; the server still writes every byte it receives.
  truncateSync(source, o.sizeBytes);
  const token = await userToken(door, u, pw);
  const uploaded = (name: string) => statSync(join(door.home, name), { throwIfNoEntry: false })?.size ?? -1;
  const remove = (name: string) => unlinkSync(join(door.home, name));
  const figures: TransferFigure[] = [];
  const measure = async (protocol: string, direction: 'upload' | 'download', cmd: string, args: string[], check: (out: string) => string | undefined): Promise<void> => {
    const t0 = Date.now();
    const { result, rss } = await sampleRss(() => run(cmd, args, { timeout: o.timeoutMs }));
    const problem = result.status !== 0 ? `exit ${result.status}: ${result.stderr.slice(0, 300)}` : check(result.stdout);
    figures.push({ protocol, direction, seconds: (Date.now() - t0) / 1000, rss, ok: problem === undefined, detail: problem ?? '' });
  };
  const sizeIs = (name: string) => () => (uploaded(name) === o.sizeBytes ? undefined : `uploaded ${uploaded(name)} bytes`);
  const curlSize = (out: string) => (Number(out.trim()) === o.sizeBytes ? undefined : `downloaded ${out.trim()} bytes`);

  const batch = (lines: string[]): string => {
    const f = join(door.dir, `batch-${Math.random().toString(36).slice(2)}`);
    writeFileSync(f, lines.join('\n') + '\n');
    return f;
  };
  const sftpArgs = (lines: string[]) => ['-p', pw, 'sftp', ...SSH_OPTS, '-P', String(p.sftp), '-b', batch(lines), `${u}@127.0.0.1`];
  await measure('SFTP', 'upload', 'sshpass', sftpArgs([`put ${source} sftp.bin`]), sizeIs('sftp.bin'));
  await measure('SFTP', 'download', 'sshpass', sftpArgs(['get sftp.bin /dev/null']), () => undefined);
  remove('sftp.bin');

  // -O: the legacy SCP protocol (OpenSSH 9 otherwise speaks SFTP under scp).
  const scp = (from: string, to: string) => ['-p', pw, 'scp', '-O', ...SSH_OPTS, '-P', String(p.sftp), from, to];
  await measure('SCP', 'upload', 'sshpass', scp(source, `${u}@127.0.0.1:scp.bin`), sizeIs('scp.bin'));
  await measure('SCP', 'download', 'sshpass', scp(`${u}@127.0.0.1:scp.bin`, '/dev/null'), () => undefined);
  remove('scp.bin');

  const ftp = `ftp://127.0.0.1:${p.ftp}`;
  const ftpAuth = ['-u', `${u}:${pw}`];
  await measure('FTP', 'upload', 'curl', ['-sS', ...ftpAuth, '-T', source, `${ftp}/ftp.bin`], sizeIs('ftp.bin'));
  await measure('FTP', 'download', 'curl', ['-sS', ...ftpAuth, '-o', '/dev/null', '-w', '%{size_download}', `${ftp}/ftp.bin`], curlSize);
  remove('ftp.bin');

  const dav = `http://127.0.0.1:${p.dav}`;
  await measure('WebDAV', 'upload', 'curl', ['-sS', '-f', ...ftpAuth, '-T', source, `${dav}/dav.bin`], sizeIs('dav.bin'));
  await measure('WebDAV', 'download', 'curl', ['-sS', '-f', ...ftpAuth, '-o', '/dev/null', '-w', '%{size_download}', `${dav}/dav.bin`], curlSize);
  remove('dav.bin');

  const api = `http://127.0.0.1:${p.api}/api/v2/user`;
  const bearer = ['-H', `Authorization: Bearer ${token}`];
  await measure('user API', 'upload', 'curl', ['-sS', '-f', ...bearer, '-X', 'POST', '-T', source, `${api}/files/upload?path=%2Fapi.bin`], sizeIs('api.bin'));
  await measure('user API', 'download', 'curl', ['-sS', '-f', ...bearer, '-o', '/dev/null', '-w', '%{size_download}', `${api}/files?path=%2Fapi.bin`], curlSize);
  remove('api.bin');
  unlinkSync(source);
  return figures;
}

async function userToken(door: DoorServer, u: string, pw: string): Promise<string> {
  const r = await fetch(`http://127.0.0.1:${door.ports.api}/api/v2/user/token`, { headers: { authorization: `Basic ${btoa(`${u}:${pw}`)}` } });
  if (!r.ok) throw new Error(`user token: ${r.status}`);
  return ((await r.json()) as { access_token: string }).access_token;
}

/** One line per transfer, for the test's output and RESULTS.md. */
export function formatFigures(figures: TransferFigure[], sizeBytes: number): string {
  const mib = Math.round(sizeBytes / 1024 / 1024);
  const rows = figures.map((f) => `| ${f.protocol} | ${f.direction} | ${mib} | ${f.seconds.toFixed(1)} | ${f.rss.start} | ${f.rss.peak} | ${f.rss.end} | ${f.ok ? 'ok' : f.detail} |`);
  return ['| protocol | direction | MiB | s | RSS start MiB | RSS peak MiB | RSS end MiB | result |', '|---|---|---|---|---|---|---|---|', ...rows].join('\n');
}
