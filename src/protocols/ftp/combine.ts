// COMB (ftpd.combine_support): the non-standard command segmented-upload clients send after
// uploading a file's parts side by side: `COMB target part1 part2 ...` (names quoted when they hold
// spaces) appends the parts, in order, to the target and removes them. Each part is read and the
// target written through the session core, as a RETR and an APPE would be, so permissions, quotas,
// bandwidth and upload modes apply unchanged.
import type { FtpSession } from './session.ts';

const CHUNK = 256 * 1024;

/** `a "b c" d` → ['a', 'b c', 'd']; undefined for an unterminated quote. */
export function splitCombArgs(arg: string): string[] | undefined {
  const out: string[] = [];
  const re = /\s*(?:"([^"]*)"|([^\s"]\S*))/y;
  let m: RegExpExecArray | null;
  let end = 0;
  while ((m = re.exec(arg)) !== null && m[0].trim() !== '') {
    out.push(m[1] ?? m[2]!);
    end = re.lastIndex;
  }
  return arg.slice(end).trim() === '' ? out : undefined;
}

export async function comb(s: FtpSession, arg: string): Promise<void> {
  if ((s.host.ftpd.combine_support ?? 0) < 1) return s.reply(502, 'COMB support is disabled');
  const names = splitCombArgs(arg);
  if (!names || names.length < 2) return s.reply(501, 'Usage: COMB target part1 [part2 ...]');
  const conn = s.conn!;
  const target = s.path(names[0]!);
  const parts = names.slice(1).map((n) => s.path(n));
  if (parts.includes(target)) return s.reply(501, 'COMB: the target cannot be one of its parts');
  // Every part must be there before the target is touched.
  for (const p of parts) {
    const st = await conn.fs.stat(p);
    if (st.type !== 'file') return s.reply(550, `${p} is not a regular file`);
  }
  const existing = await conn.fs.probe(target);
  const append = existing?.type === 'file' && existing.size > 0;
  const upload = await conn.fs.openUpload(conn, target, append ? { append: true, truncate: false } : {});
  try {
    for (const p of parts) {
      const download = await conn.fs.openDownload(conn, p);
      try {
        for (let pos = 0; ; ) {
          const buf = Buffer.allocUnsafe(CHUNK);
          const n = await download.read(buf, pos);
          if (n === 0) break;
          pos += n;
          await upload.write(buf.subarray(0, n));
        }
        await download.close();
      } catch (err) {
        await download.abort();
        throw err;
      }
    }
    await upload.close();
  } catch (err) {
    await upload.abort();
    throw err;
  }
  for (const p of parts) await conn.fs.remove(p);
  s.reply(250, 'COMB succeeded!');
}
