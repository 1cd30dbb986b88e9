// Reads ELF headers: which machine a binary is built for, and which shared objects (the native
// addons) a compiled executable carries inside it. Bun stores each embedded `.node` file verbatim,
// so every one shows up as a complete ELF image at some offset past the runtime's own header.

/** e_machine values of the targets the project ships. */
export const EM_X86_64 = 62;
export const EM_AARCH64 = 183;

const MAGIC = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);
const ET_DYN = 3;

export interface ElfImage {
  offset: number;
  /** e_type: 2 executable, 3 shared object. */
  type: number;
  machine: number;
  /** From the section header table, which ends the file as linkers write it. */
  size: number;
}

/** The ELF64 little-endian header at `offset`, or undefined when the bytes there are not one. */
export function elfHeader(buf: Buffer, offset = 0): ElfImage | undefined {
  if (offset + 64 > buf.length || !buf.subarray(offset, offset + 4).equals(MAGIC)) return undefined;
  // 64-bit, little-endian, ELF version 1 in both e_ident and e_version, 64-byte header
  if (buf[offset + 4] !== 2 || buf[offset + 5] !== 1 || buf[offset + 6] !== 1) return undefined;
  if (buf.readUInt32LE(offset + 20) !== 1 || buf.readUInt16LE(offset + 52) !== 64) return undefined;
  const shoff = Number(buf.readBigUInt64LE(offset + 40));
  const shentsize = buf.readUInt16LE(offset + 58);
  const shnum = buf.readUInt16LE(offset + 60);
  return { offset, type: buf.readUInt16LE(offset + 16), machine: buf.readUInt16LE(offset + 18), size: shoff + shentsize * shnum };
}

/** The shared objects stored inside `binary` (its own header at offset 0 excluded). */
export function embeddedSharedObjects(binary: Buffer): ElfImage[] {
  const found: ElfImage[] = [];
  for (let at = binary.indexOf(MAGIC, 1); at >= 0; at = binary.indexOf(MAGIC, at + 1)) {
    const h = elfHeader(binary, at);
    if (h === undefined || h.type !== ET_DYN || at + h.size > binary.length) continue;
    found.push(h);
    at += h.size - 1;
  }
  return found;
}
