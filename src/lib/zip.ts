// A streaming ZIP writer: entries go out as they are read, stored (no compression), each followed
// by a data descriptor with its CRC-32 and size, so nothing is held beyond the chunk in hand and no
// size has to be known before its bytes are sent. ZIP64 records are written where a size, an offset
// or the entry count passes the classic format's limits (APPNOTE 6.3.10, sections 4.3 and 4.5).
import { crc32 } from 'node:zlib';

export interface ZipEntry {
  /** The path inside the archive, "/"-separated, without a leading "/" (a directory ends with "/"). */
  name: string;
  mtimeMs: number;
  /** POSIX permission bits for the archive's external attributes. */
  mode?: number;
  /** Absent for a directory. */
  data?: () => AsyncIterable<Uint8Array>;
  /** The expected size of a file: above 4 GiB its local header announces ZIP64 sizes. */
  size?: number;
}

const MAX32 = 0xffffffff;
const MAX16 = 0xffff;
/** Bit 3: sizes and CRC follow the data; bit 11: names are UTF-8. */
const FLAGS = 0x0808;

interface Written {
  name: Buffer;
  crc: number;
  size: number;
  offset: number;
  dosTime: number;
  dosDate: number;
  dir: boolean;
  mode: number;
  zip64Local: boolean;
}

function dosDateTime(ms: number): { dosTime: number; dosDate: number } {
  const d = new Date(ms);
  const year = Math.max(1980, d.getFullYear());
  return {
    dosTime: (d.getHours() << 11) | (d.getMinutes() << 5) | Math.floor(d.getSeconds() / 2),
    dosDate: ((year - 1980) << 9) | ((d.getMonth() + 1) << 5) | d.getDate(),
  };
}

function localHeader(e: Written): Buffer {
  const extra = e.zip64Local ? Buffer.alloc(20) : Buffer.alloc(0);
  if (e.zip64Local) {
    extra.writeUInt16LE(0x0001, 0);
    extra.writeUInt16LE(16, 2);
  }
  const h = Buffer.alloc(30);
  h.writeUInt32LE(0x04034b50, 0);
  h.writeUInt16LE(e.zip64Local ? 45 : 20, 4);
  h.writeUInt16LE(FLAGS, 6);
  h.writeUInt16LE(0, 8);
  h.writeUInt16LE(e.dosTime, 10);
  h.writeUInt16LE(e.dosDate, 12);
  // CRC and sizes are in the data descriptor; a ZIP64 entry says so with all-ones sizes.
  h.writeUInt32LE(0, 14);
  h.writeUInt32LE(e.zip64Local ? MAX32 : 0, 18);
  h.writeUInt32LE(e.zip64Local ? MAX32 : 0, 22);
  h.writeUInt16LE(e.name.length, 26);
  h.writeUInt16LE(extra.length, 28);
  return Buffer.concat([h, e.name, extra]);
}

function dataDescriptor(e: Written): Buffer {
  if (e.zip64Local) {
    const d = Buffer.alloc(24);
    d.writeUInt32LE(0x08074b50, 0);
    d.writeUInt32LE(e.crc, 4);
    d.writeBigUInt64LE(BigInt(e.size), 8);
    d.writeBigUInt64LE(BigInt(e.size), 16);
    return d;
  }
  const d = Buffer.alloc(16);
  d.writeUInt32LE(0x08074b50, 0);
  d.writeUInt32LE(e.crc, 4);
  d.writeUInt32LE(e.size, 8);
  d.writeUInt32LE(e.size, 12);
  return d;
}

function centralHeader(e: Written): Buffer {
  const bigSize = e.size >= MAX32 || e.zip64Local;
  const bigOffset = e.offset >= MAX32;
  const fields: bigint[] = [];
  if (bigSize) fields.push(BigInt(e.size), BigInt(e.size));
  if (bigOffset) fields.push(BigInt(e.offset));
  const extra = Buffer.alloc(fields.length ? 4 + 8 * fields.length : 0);
  if (fields.length) {
    extra.writeUInt16LE(0x0001, 0);
    extra.writeUInt16LE(8 * fields.length, 2);
    fields.forEach((v, i) => extra.writeBigUInt64LE(v, 4 + 8 * i));
  }
  const needed = fields.length ? 45 : 20;
  const h = Buffer.alloc(46);
  h.writeUInt32LE(0x02014b50, 0);
  // Made by: Unix (3), so the mode in the external attributes is read.
  h.writeUInt16LE((3 << 8) | needed, 4);
  h.writeUInt16LE(needed, 6);
  h.writeUInt16LE(FLAGS, 8);
  h.writeUInt16LE(0, 10);
  h.writeUInt16LE(e.dosTime, 12);
  h.writeUInt16LE(e.dosDate, 14);
  h.writeUInt32LE(e.crc, 16);
  h.writeUInt32LE(bigSize ? MAX32 : e.size, 20);
  h.writeUInt32LE(bigSize ? MAX32 : e.size, 24);
  h.writeUInt16LE(e.name.length, 28);
  h.writeUInt16LE(extra.length, 30);
  const unixMode = (e.dir ? 0o040000 : 0o100000) | (e.mode & 0o7777);
  h.writeUInt32LE(((unixMode << 16) | (e.dir ? 0x10 : 0)) >>> 0, 38);
  h.writeUInt32LE(bigOffset ? MAX32 : e.offset, 42);
  return Buffer.concat([h, e.name, extra]);
}

function endRecords(count: number, cdOffset: number, cdSize: number): Buffer {
  const parts: Buffer[] = [];
  const zip64 = count >= MAX16 || cdOffset >= MAX32 || cdSize >= MAX32;
  if (zip64) {
    const rec = Buffer.alloc(56);
    rec.writeUInt32LE(0x06064b50, 0);
    rec.writeBigUInt64LE(44n, 4);
    rec.writeUInt16LE((3 << 8) | 45, 12);
    rec.writeUInt16LE(45, 14);
    rec.writeBigUInt64LE(BigInt(count), 24);
    rec.writeBigUInt64LE(BigInt(count), 32);
    rec.writeBigUInt64LE(BigInt(cdSize), 40);
    rec.writeBigUInt64LE(BigInt(cdOffset), 48);
    const locator = Buffer.alloc(20);
    locator.writeUInt32LE(0x07064b50, 0);
    locator.writeBigUInt64LE(BigInt(cdOffset + cdSize), 8);
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

/** The archive of `entries`, produced chunk by chunk as the consumer pulls it. */
export async function* zipStream(entries: AsyncIterable<ZipEntry>): AsyncGenerator<Uint8Array> {
  const written: Written[] = [];
  let offset = 0;
  for await (const entry of entries) {
    const dir = entry.data === undefined;
    const name = Buffer.from(dir && !entry.name.endsWith('/') ? `${entry.name}/` : entry.name, 'utf8');
    const e: Written = {
      name, crc: 0, size: 0, offset, dir, mode: entry.mode ?? (dir ? 0o755 : 0o644), zip64Local: !dir && (entry.size ?? 0) >= MAX32 - 1024 * 1024, ...dosDateTime(entry.mtimeMs),
    };
    const header = localHeader(e);
    yield header;
    offset += header.length;
    if (entry.data) {
      for await (const chunk of entry.data()) {
        e.crc = crc32(chunk, e.crc);
        e.size += chunk.byteLength;
        if (!e.zip64Local && e.size >= MAX32) throw new Error(`${entry.name} grew past 4 GiB while it was archived`);
        yield chunk;
      }
    }
    const descriptor = dataDescriptor(e);
    yield descriptor;
    offset += e.size + descriptor.length;
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
