// The shared libraries the compiled binary needs at run time, found the way the loader will: `ldd` of
// the binary, and `ldd` of every native addon embedded in it. Bun links glibc dynamically, and the
// addons it embeds (lmdb, msgpackr, sodium) are unpacked into $TMPDIR and dlopen'ed only when first
// required, so their own dependencies (libstdc++, libgcc_s) never show in the binary's `ldd` and a
// trial run would not load them all. The addons are found by their ELF headers inside the binary.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ELF_MAGIC = Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1]); // ELF, 64-bit, little-endian
const ET_DYN = 3;

/** ELF e_machine values of the platforms Bun compiles for, as OCI names them. */
const ARCHITECTURES: Record<number, string> = { 62: 'amd64', 183: 'arm64' };

interface ElfHeader {
  type: number;
  machine: number;
  /** Where the section headers end: the object's size when they come last, as linkers put them. */
  end: number;
}

function elfHeaderAt(buf: Buffer, at: number): ElfHeader | undefined {
  if (at + 64 > buf.length || !buf.subarray(at, at + ELF_MAGIC.length).equals(ELF_MAGIC)) return undefined;
  const shoff = Number(buf.readBigUInt64LE(at + 0x28));
  return { type: buf.readUInt16LE(at + 16), machine: buf.readUInt16LE(at + 18), end: shoff + buf.readUInt16LE(at + 0x3a) * buf.readUInt16LE(at + 0x3c) };
}

/** The OCI architecture of a 64-bit little-endian ELF executable (amd64, arm64). */
export function architectureOf(binary: Buffer): string {
  const h = elfHeaderAt(binary, 0);
  const arch = h && ARCHITECTURES[h.machine];
  if (!arch) throw new Error('not a 64-bit little-endian ELF executable for amd64 or arm64');
  return arch;
}

/** The shared objects stored whole inside the binary (Bun's embedded `.node` addons). */
export function embeddedSharedObjects(binary: Buffer): Buffer[] {
  const machine = elfHeaderAt(binary, 0)?.machine;
  const found: Buffer[] = [];
  for (let at = binary.indexOf(ELF_MAGIC, 1); at >= 0; at = binary.indexOf(ELF_MAGIC, at + 1)) {
    const h = elfHeaderAt(binary, at);
    // The magic also occurs as data in the runtime itself; a real object has a sane type, machine and size.
    if (!h || h.type !== ET_DYN || h.machine !== machine || h.end <= 64 || at + h.end > binary.length) continue;
    found.push(binary.subarray(at, at + h.end));
    at += h.end - 1;
  }
  return found;
}

/**
 * The paths `ldd` resolves for `file`: libraries and the loader, as absolute paths (the vDSO has
 * none and is left out). Fails when something is not found, as the image would then not start.
 */
export function lddPaths(file: string): string[] {
  const r = spawnSync('ldd', [file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ldd ${file} failed: ${r.stderr || r.stdout}`);
  const paths: string[] = [];
  for (const line of r.stdout.split('\n')) {
    if (/=>\s*not found/.test(line)) throw new Error(`ldd ${file}: ${line.trim()}`);
    const m = /=>\s*(\/\S+)\s+\(0x/.exec(line) ?? /^\s*(\/\S+)\s+\(0x/.exec(line);
    if (m) paths.push(m[1]!);
  }
  return paths;
}

/**
 * Every library the binary and its embedded addons link, sorted. Runs `ldd` on this machine, so the
 * binary must be built for this machine's architecture.
 */
export function requiredLibraries(binaryPath: string): string[] {
  const binary = readFileSync(binaryPath);
  const dir = mkdtempSync(join(tmpdir(), 'sftpgo-oci-addons-'));
  try {
    const all = new Set(lddPaths(binaryPath));
    embeddedSharedObjects(binary).forEach((so, i) => {
      const file = join(dir, `addon-${i}.so`);
      writeFileSync(file, so);
      for (const p of lddPaths(file)) all.add(p);
    });
    return [...all].sort();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
