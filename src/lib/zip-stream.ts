// A streaming ZIP writer (APPNOTE 6.3): entries are stored (no compression) or, when asked,
// deflated as they stream; each file's CRC and sizes follow its data in a data descriptor, so
// nothing is held in memory beyond one chunk and the central directory (a few dozen bytes per entry). ZIP64 records are written only where a
// size, an offset or the entry count outgrows the classic fields, as Go's archive/zip does, so
// small archives stay readable by every tool.
import { once } from 'node:events';
import { crc32, createDeflateRaw } from 'node:zlib';

export interface ZipEntry {
  /** Path inside the archive, "/"-separated, no leading "/"; a directory ends with "/". */
  name: string;
  mtimeMs: number;
  /** A file's bytes; absent for a directory. Called once, when the entry is written. */
  data?: () => AsyncIterable<Uint8Array>;
}

/** How file data is written: as is (0), or deflated (8), as Go's archive/zip calls them. */
export type ZipMethod = 'store' | 'deflate';

export interface ZipOptions {
  /** Default store. */
  method?: ZipMethod;
}

interface Written {
  name: Buffer;
  crc: number;
  /** Uncompressed bytes. */
  size: number;
  /** Bytes written for the data (the size when stored). */
  csize: number;
  /** 0 stored, 8 deflated. */
  method: number;
  offset: number;
  dosTime: number;
  dosDate: number;
  dir: boolean;
}

const MAX32 = 0xffffffff;
const MAX16 = 0xffff;
const FLAGS = 0x0808; // bit 3: sizes in a data descriptor; bit 11: UTF-8 names
const VERSION_20 = 20;
const VERSION_45 = 45; // ZIP64
const MADE_BY_UNIX = (3 << 8) | VERSION_45;

/** MS-DOS date and time, local fields as ZIP keeps them (UTC here: archives are read anywhere). */
function dosDateTime(ms: number): { dosTime: number; dosDate: number } {
  const d = new Date(ms);
  const year = d.getUTCFullYear();
  if (year < 1980) return { dosTime: 0, dosDate: (1 << 5) | 1 };
  return {
    dosTime: (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | Math.floor(d.getUTCSeconds() / 2),
    dosDate: ((Math.min(year, 2107) - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate(),
  };
}

function u64(b: Buffer, v: number, at: number): void {
  b.writeBigUInt64LE(BigInt(v), at);
}

function localHeader(e: Written): Buffer {
  const h = Buffer.alloc(30);
  h.writeUInt32LE(0x04034b50, 0);
  h.writeUInt16LE(VERSION_20, 4);
  h.writeUInt16LE(FLAGS, 6);
  h.writeUInt16LE(e.method, 8);
  h.writeUInt16LE(e.dosTime, 10);
  h.writeUInt16LE(e.dosDate, 12);
  // CRC and sizes: 0 here, in the data descriptor after the data.
  h.writeUInt16LE(e.name.length, 26);
  return Buffer.concat([h, e.name]);
}

function dataDescriptor(e: Written): Buffer {
  const zip64 = e.size >= MAX32 || e.csize >= MAX32;
  const d = Buffer.alloc(zip64 ? 24 : 16);
  d.writeUInt32LE(0x08074b50, 0);
  d.writeUInt32LE(e.crc, 4);
  if (zip64) {
    u64(d, e.csize, 8);
    u64(d, e.size, 16);
  } else {
    d.writeUInt32LE(e.csize, 8);
    d.writeUInt32LE(e.size, 12);
  }
  return d;
}

function centralHeader(e: Written): Buffer {
  // The ZIP64 extra field holds, in this order, the uncompressed size, the compressed size, the offset.
  const big = [e.size >= MAX32, e.csize >= MAX32, e.offset >= MAX32];
  const extraLen = big.filter(Boolean).length * 8;
  const extra = Buffer.alloc(extraLen ? 4 + extraLen : 0);
  if (extraLen) {
    extra.writeUInt16LE(0x0001, 0);
    extra.writeUInt16LE(extraLen, 2);
    let at = 4;
    for (const [i, v] of [e.size, e.csize, e.offset].entries()) {
      if (!big[i]) continue;
      u64(extra, v, at);
      at += 8;
    }
  }
  const h = Buffer.alloc(46);
  h.writeUInt32LE(0x02014b50, 0);
  h.writeUInt16LE(MADE_BY_UNIX, 4);
  h.writeUInt16LE(extraLen ? VERSION_45 : VERSION_20, 6);
  h.writeUInt16LE(FLAGS, 8);
  h.writeUInt16LE(e.method, 10);
  h.writeUInt16LE(e.dosTime, 12);
  h.writeUInt16LE(e.dosDate, 14);
  h.writeUInt32LE(e.crc, 16);
  h.writeUInt32LE(big[1] ? MAX32 : e.csize, 20);
  h.writeUInt32LE(big[0] ? MAX32 : e.size, 24);
  h.writeUInt16LE(e.name.length, 28);
  h.writeUInt16LE(extra.length, 30);
  // Unix mode in the high half of the external attributes; MS-DOS directory bit for directories.
  const mode = e.dir ? 0o40755 : 0o100644;
  h.writeUInt32LE(((mode << 16) | (e.dir ? 0x10 : 0)) >>> 0, 38);
  h.writeUInt32LE(big[2] ? MAX32 : e.offset, 42);
  return Buffer.concat([h, e.name, extra]);
}

function endRecords(count: number, cdOffset: number, cdSize: number): Buffer {
  const zip64 = count >= MAX16 || cdOffset >= MAX32 || cdSize >= MAX32;
  const parts: Buffer[] = [];
  if (zip64) {
    const rec = Buffer.alloc(56);
    rec.writeUInt32LE(0x06064b50, 0);
    u64(rec, 44, 4);
    rec.writeUInt16LE(MADE_BY_UNIX, 12);
    rec.writeUInt16LE(VERSION_45, 14);
    u64(rec, count, 24);
    u64(rec, count, 32);
    u64(rec, cdSize, 40);
    u64(rec, cdOffset, 48);
    const locator = Buffer.alloc(20);
    locator.writeUInt32LE(0x07064b50, 0);
    u64(locator, cdOffset + cdSize, 8);
    locator.writeUInt32LE(1, 16);
    parts.push(rec, locator);
  }
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Math.min(count, MAX16), 8);
  end.writeUInt16LE(Math.min(count, MAX16), 10);
  end.writeUInt32LE(Math.min(cdSize, MAX32), 12);
  end.writeUInt32LE(Math.min(cdOffset, MAX32), 16);
  parts.push(end);
  return Buffer.concat(parts);
}

/** `data` deflated as it is read; its CRC and size are counted into `e` on the way. */
async function* deflated(data: AsyncIterable<Uint8Array>, e: Written): AsyncGenerator<Uint8Array> {
  const z = createDeflateRaw();
  // Stops the feeding loop when the reader leaves early, so the source is closed, not left waiting.
  const stop = new AbortController();
  const feed = (async () => {
    for await (const chunk of data) {
      if (chunk.length === 0) continue;
      e.crc = crc32(chunk, e.crc);
      e.size += chunk.length;
      if (!z.write(chunk)) await once(z, 'drain', { signal: stop.signal });
    }
    z.end();
  })().catch((err: unknown) => z.destroy(err as Error));
  try {
    for await (const out of z as AsyncIterable<Buffer>) yield out;
  } finally {
    stop.abort();
    z.destroy();
    await feed;
  }
}

/** `data` as is, its CRC and size counted into `e`. */
async function* stored(data: AsyncIterable<Uint8Array>, e: Written): AsyncGenerator<Uint8Array> {
  for await (const chunk of data) {
    if (chunk.length === 0) continue;
    e.crc = crc32(chunk, e.crc);
    e.size += chunk.length;
    yield chunk;
  }
}

/** The archive of `entries`, chunk by chunk, as they are read. */
export async function* zipStream(entries: AsyncIterable<ZipEntry>, opts: ZipOptions = {}): AsyncGenerator<Uint8Array> {
  const written: Written[] = [];
  let offset = 0;
  for await (const entry of entries) {
    const dir = entry.data === undefined;
    const method = !dir && opts.method === 'deflate' ? 8 : 0;
    const e: Written = { name: Buffer.from(entry.name, 'utf8'), crc: 0, size: 0, csize: 0, method, offset, dir, ...dosDateTime(entry.mtimeMs) };
    const header = localHeader(e);
    offset += header.length;
    yield header;
    if (entry.data) {
      for await (const chunk of (method === 8 ? deflated : stored)(entry.data(), e)) {
        e.csize += chunk.length;
        offset += chunk.length;
        yield chunk;
      }
    }
    const descriptor = dataDescriptor(e);
    offset += descriptor.length;
    yield descriptor;
    written.push(e);
  }
  const cdOffset = offset;
  let cdSize = 0;
  for (const e of written) {
    const h = centralHeader(e);
    cdSize += h.length;
    yield h;
  }
  yield endRecords(written.length, cdOffset, cdSize);
}
