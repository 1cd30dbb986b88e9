// A deterministic POSIX ustar writer for image layers: the same entries give the same bytes (one
// fixed mtime, numeric owners with fixed names, no device numbers), so the layer digest only changes
// when a file does.
import type { Entry } from './image.ts';

const BLOCK = 512;

export interface TarOptions {
  /** Seconds since the epoch stamped on every entry. */
  mtime: number;
  /** Owner names written beside the numeric ids. */
  names: Record<number, string>;
}

function octal(buf: Buffer, at: number, width: number, value: number): void {
  const s = value.toString(8).padStart(width - 1, '0');
  if (s.length > width - 1) throw new Error(`tar: ${value} does not fit in ${width - 1} octal digits`);
  buf.write(`${s}\0`, at, 'ascii');
}

/** ustar keeps long paths as prefix/name, split at a slash. */
function splitName(name: string): { prefix: string; name: string } {
  if (Buffer.byteLength(name) <= 100) return { prefix: '', name };
  for (let i = name.lastIndexOf('/'); i > 0; i = name.lastIndexOf('/', i - 1)) {
    if (Buffer.byteLength(name.slice(0, i)) <= 155 && Buffer.byteLength(name.slice(i + 1)) <= 100) return { prefix: name.slice(0, i), name: name.slice(i + 1) };
  }
  throw new Error(`tar: path too long for ustar: ${name}`);
}

function header(entry: Entry, size: number, opts: TarOptions): Buffer {
  const h = Buffer.alloc(BLOCK);
  // Layer paths are relative ("usr/bin/sftpgo"), directories end with a slash.
  const { prefix, name } = splitName(entry.path.slice(1) + (entry.type === 'dir' ? '/' : ''));
  h.write(name, 0, 100, 'utf8');
  octal(h, 100, 8, entry.mode);
  octal(h, 108, 8, entry.uid);
  octal(h, 116, 8, entry.gid);
  octal(h, 124, 12, size);
  octal(h, 136, 12, opts.mtime);
  h.write(entry.type === 'dir' ? '5' : '0', 156, 'ascii');
  h.write('ustar\0' + '00', 257, 'ascii');
  h.write(opts.names[entry.uid] ?? '', 265, 32, 'utf8');
  h.write(opts.names[entry.gid] ?? '', 297, 32, 'utf8');
  octal(h, 329, 8, 0);
  octal(h, 337, 8, 0);
  h.write(prefix, 345, 155, 'utf8');
  // The checksum is computed with its own field read as eight spaces.
  h.fill(' ', 148, 156);
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return h;
}

/** The whole archive in memory; `content` gives each file's bytes. */
export function tarArchive(entries: Entry[], content: (e: Entry) => Uint8Array, opts: TarOptions): Buffer {
  const parts: Uint8Array[] = [];
  for (const e of entries) {
    const data = e.type === 'file' ? content(e) : new Uint8Array(0);
    parts.push(header(e, data.length, opts), data);
    const pad = (BLOCK - (data.length % BLOCK)) % BLOCK;
    if (pad) parts.push(Buffer.alloc(pad));
  }
  parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}
