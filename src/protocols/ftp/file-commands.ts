// The FTP commands that act on the user's files, all through the session core's UserFs (so
// permissions, confinement and upload modes are the same as over SFTP): listings, transfers,
// and single-reply operations on names.
import type { Duplex } from 'node:stream';
import { parentOf } from '../../core/paths.ts';
import { AppError } from '../../errors.ts';
import type { FileInfo } from '../../vfs/fs.ts';
import { receiveAll, sendAll, sendFileAll, writeAll } from './data.ts';
import { ftpTime, listLine, mlsxLine, parseFtpTime } from './listing.ts';
import { quotePath } from './replies.ts';
import { listTarget } from './parse.ts';
import type { FtpSession } from './session.ts';

const LIST_BATCH = 32 * 1024;

type ListKind = 'LIST' | 'NLST' | 'MLSD';

/** A path argument as sent: spaces at its ends belong to the name; only a blank one means none. */
function pathArg(arg: string): string {
  return arg.trim() === '' ? '' : arg;
}

function lineFor(s: FtpSession, kind: ListKind, info: FileInfo, dir: string): string {
  if (kind === 'NLST') return info.name;
  if (kind === 'LIST') return listLine(info);
  const path = dir === '/' ? `/${info.name}` : `${dir}/${info.name}`;
  return mlsxLine(info, info.name, s.conn!.user.permissions, dir, path);
}

async function* linesOf(s: FtpSession, kind: ListKind, vpath: string): AsyncIterable<string> {
  const fs = s.conn!.fs;
  let entries: AsyncIterable<FileInfo>;
  try {
    entries = await fs.openDir(vpath);
  } catch (err) {
    // LIST/NLST of a file show that one file; MLSD is for directories only (RFC 3659).
    if (kind === 'MLSD' || !(err instanceof AppError) || err.code !== 'not_dir') throw err;
    const info = await fs.stat(vpath);
    yield kind === 'NLST' ? vpath : listLine(info);
    return;
  }
  for await (const e of entries) yield lineFor(s, kind, e, vpath);
}

export async function list(s: FtpSession, arg: string, kind: ListKind): Promise<void> {
  const vpath = s.path(kind === 'MLSD' ? pathArg(arg) : listTarget(arg));
  const lines = linesOf(s, kind, vpath)[Symbol.asyncIterator]();
  // The first step runs the permission and type checks, so a refusal is a 550 before any 150.
  const first = await lines.next();
  s.startTransfer(
    async (sock: Duplex) => {
      let batch = '';
      for (let r = first; !r.done; r = await lines.next()) {
        batch += `${r.value}\r\n`;
        if (batch.length >= LIST_BATCH) {
          await writeAll(sock, batch);
          batch = '';
        }
      }
      if (batch) await writeAll(sock, batch);
    },
    async () => void (await lines.return?.()),
  );
}

/**
 * The data connection will be plain TCP: the receive pump and sendAll free every buffer they
 * move (data.ts), so the transfer leaves no garbage for the collector pacer to count. Over TLS
 * the TLS layer's own buffers are garbage, and the pacer counts them.
 */
function plainData(s: FtpSession): boolean {
  return s.prot !== 'P';
}

export async function retr(s: FtpSession, arg: string): Promise<void> {
  const conn = s.conn!;
  const offset = s.takeRest();
  const download = await conn.fs.openDownload(conn, s.path(arg));
  download.paced = !plainData(s);
  s.startTransfer(
    async (sock) => {
      // Plain data from local storage goes from the page cache to the socket in the kernel.
      if (plainData(s) && (await sendFileAll(sock, download, offset))) return;
      await sendAll(sock, download.chunks(offset));
    },
    (ok) => (ok ? download.close() : download.abort()),
    { progress: () => download.bytes },
  );
}

/** STOR (offset 0 or a REST offset: written in place, never truncated) and APPE. */
export async function stor(s: FtpSession, arg: string, append: boolean): Promise<void> {
  const conn = s.conn!;
  const vpath = s.path(arg);
  const offset = s.takeRest();
  if (offset > 0 && !append) {
    const existing = await conn.fs.probe(vpath);
    if (!existing || existing.type !== 'file' || existing.size < offset)
      return s.reply(554, `Cannot resume at ${offset}: the file is shorter`);
  }
  const upload = await conn.fs.openUpload(
    conn,
    vpath,
    append ? { append: true, truncate: false } : offset > 0 ? { offset, truncate: false } : {},
  );
  upload.paced = !plainData(s);
  s.startTransfer(
    (sock) => receiveAll(sock, (data) => upload.write(data)),
    (ok) => (ok ? upload.close() : upload.abort()),
    { naming: true, progress: () => upload.bytes },
  );
}

export async function size(s: FtpSession, arg: string): Promise<void> {
  const st = await s.conn!.fs.stat(s.path(arg));
  if (st.type !== 'file') return s.reply(550, `${arg} is not a regular file`);
  s.reply(213, String(st.size));
}

export async function mdtm(s: FtpSession, arg: string): Promise<void> {
  const st = await s.conn!.fs.stat(s.path(arg));
  s.reply(213, ftpTime(st.mtimeMs));
}

/** MFMT YYYYMMDDHHMMSS path (draft-somers-ftp-mfxx). */
export async function mfmt(s: FtpSession, arg: string): Promise<void> {
  const sp = arg.indexOf(' ');
  const when = sp > 0 ? parseFtpTime(arg.slice(0, sp)) : undefined;
  if (when === undefined) return s.reply(501, 'Usage: MFMT YYYYMMDDHHMMSS path');
  const name = arg.slice(sp + 1);
  await s.conn!.fs.setAttrs(s.path(name), { mtimeMs: when });
  s.reply(213, `Modify=${arg.slice(0, sp)}; ${name}`);
}

export async function mlst(s: FtpSession, arg: string): Promise<void> {
  const vpath = s.path(pathArg(arg));
  const st = await s.conn!.fs.stat(vpath);
  s.reply(250, [`Listing ${vpath}`, mlsxLine(st, vpath, s.conn!.user.permissions, parentOf(vpath), vpath), 'End']);
}

export async function cwd(s: FtpSession, arg: string): Promise<void> {
  const vpath = s.path(arg);
  if (vpath !== '/') {
    const st = await s.conn!.fs.stat(vpath);
    if (st.type !== 'dir') return s.reply(550, `${arg} is not a directory`);
  }
  s.cwd = vpath;
  s.reply(250, `Directory changed to ${vpath}`);
}

export async function mkd(s: FtpSession, arg: string): Promise<void> {
  const vpath = s.path(arg);
  await s.conn!.fs.mkdir(vpath);
  s.reply(257, `${quotePath(vpath)} created`);
}

export async function rmd(s: FtpSession, arg: string): Promise<void> {
  await s.conn!.fs.rmdir(s.path(arg));
  s.reply(250, 'Directory removed');
}

export async function dele(s: FtpSession, arg: string): Promise<void> {
  const vpath = s.path(arg);
  const st = await s.conn!.fs.probe(vpath);
  if (st?.type === 'dir') return s.reply(550, `${arg} is a directory: use RMD`);
  await s.conn!.fs.remove(vpath);
  s.reply(250, 'File deleted');
}

export async function rnfr(s: FtpSession, arg: string): Promise<void> {
  const vpath = s.path(arg);
  await s.conn!.fs.stat(vpath, false);
  s.renameFrom = vpath;
  s.reply(350, 'Ready for RNTO');
}

export async function rnto(s: FtpSession, arg: string): Promise<void> {
  const from = s.renameFrom;
  s.renameFrom = undefined;
  if (!from) return s.reply(503, 'RNFR first');
  await s.conn!.fs.rename(from, s.path(arg), true);
  s.reply(250, 'Rename successful');
}

/** SITE CHMOD mode path. */
export async function site(s: FtpSession, arg: string): Promise<void> {
  const sub = (arg.trim().split(/\s+/)[0] ?? '').toUpperCase();
  if (sub === 'CHMOD') {
    const m = /^\s*CHMOD\s+([0-7]{3,4})\s+(.+)$/i.exec(arg);
    if (!m) return s.reply(501, 'Usage: SITE CHMOD mode path');
    await s.conn!.fs.setAttrs(s.path(m[2]!), { mode: parseInt(m[1]!, 8) });
    return s.reply(200, 'SITE CHMOD command successful');
  }
  if (sub === 'HELP') return s.reply(214, ['The following SITE commands are recognized:', 'CHMOD HELP', 'End']);
  s.reply(504, `SITE ${sub.slice(0, 20)} is not supported`);
}

const HASHES: Record<string, 'md5' | 'sha1' | 'sha256' | 'sha512'> = { 'SHA-256': 'sha256', 'SHA-512': 'sha512', 'SHA-1': 'sha1', MD5: 'md5' };
export const HASH_NAMES = Object.keys(HASHES);

/** HASH (draft-bryan-ftpext-hash) with the algorithm chosen by OPTS HASH. */
export async function hash(s: FtpSession, arg: string): Promise<void> {
  const vpath = s.path(arg);
  const st = await s.conn!.fs.stat(vpath);
  const hex = await s.conn!.fs.checksum(vpath, HASHES[s.hashAlgo]!);
  s.reply(213, `${s.hashAlgo} 0-${st.size} ${hex} ${arg}`);
}

/** XMD5 / XSHA1 / XSHA256 / XSHA512 path: one hex digest. */
export async function xhash(s: FtpSession, arg: string, algo: 'md5' | 'sha1' | 'sha256' | 'sha512'): Promise<void> {
  s.reply(250, await s.conn!.fs.checksum(s.path(arg), algo));
}

/** STAT path: the listing over the control connection. */
export async function statPath(s: FtpSession, arg: string): Promise<void> {
  const out = [`Status of ${arg}:`];
  for await (const line of linesOf(s, 'LIST', s.path(listTarget(arg)))) out.push(line);
  out.push('End of status');
  s.reply(213, out);
}
