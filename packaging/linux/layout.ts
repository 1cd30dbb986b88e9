// What the Linux packages install and where: one list that both the .deb and the .rpm are built
// from, so the two can never ship different files. Also the facts read from the binary itself
// (its CPU architecture and the newest glibc symbol version it needs). The man page and completions
// are whatever packaging/generated.ts wrote.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { EM_AARCH64, EM_X86_64, elfHeader } from '../elf.ts';
import type { Arch as StageArch } from '../stage.ts';

export const PACKAGE_NAME = 'sftpgo-ts';
export const SUMMARY = 'SFTP/SCP, FTP/S and WebDAV server with a declarative YAML config';
// Lines under 80 columns, as Debian's control file wants them.
export const DESCRIPTION = [
  'A file-transfer server in the class of SFTPGo, shipped as one self-contained',
  'binary: users, folders, groups and admins are declared in one YAML file and',
  'reconciled into an embedded LMDB store. Files live on local disk, encrypted',
  'local disk, S3, Google Cloud Storage, Azure Blob Storage or another SFTP',
  'server. Runs as a hardened systemd service.',
];

/** Where the service keeps its state; the maintainer scripts and the unit name the same paths. */
export const SERVICE_DIRS = ['/var/lib/sftpgo', '/var/cache/sftpgo', '/var/log/sftpgo'];
export const CONFIG_DIR = '/etc/sftpgo';
export const CONFIG_FILE = '/etc/sftpgo/sftpgo.yaml';

export type EntryKind = 'binary' | 'config' | 'unit' | 'man' | 'completion' | 'doc';

export interface Entry {
  /** Absolute path on the installed system. */
  path: string;
  mode: number;
  kind: EntryKind;
  /** Where the content comes from at build time. */
  from: { file: string } | { text: string | Uint8Array };
}

/** What `sftpgo man` and `sftpgo completion` printed (packaging/generated.ts), by path under its dir. */
const GENERATED_PATHS: Record<string, string> = {
  'completions/sftpgo.bash': '/usr/share/bash-completion/completions/sftpgo',
  'completions/_sftpgo': '/usr/share/zsh/vendor-completions/_sftpgo',
  'completions/sftpgo.fish': '/usr/share/fish/vendor_completions.d/sftpgo.fish',
};

export function layout(opts: { binary: string; packagingDir: string; docDir: string; generatedDir?: string }): Entry[] {
  const { binary, packagingDir: dir, docDir, generatedDir } = opts;
  const entries: Entry[] = [
    { path: '/usr/bin/sftpgo', mode: 0o755, kind: 'binary', from: { file: binary } },
    { path: CONFIG_FILE, mode: 0o640, kind: 'config', from: { file: `${dir}/sftpgo.yaml` } },
    { path: '/usr/lib/systemd/system/sftpgo.service', mode: 0o644, kind: 'unit', from: { file: `${dir}/sftpgo.service` } },
    { path: `${docDir}/examples/bind-low-ports.conf`, mode: 0o644, kind: 'doc', from: { file: `${dir}/bind-low-ports.conf` } },
    { path: `${docDir}/examples/home-dirs.conf`, mode: 0o644, kind: 'doc', from: { file: `${dir}/home-dirs.conf` } },
  ];
  if (generatedDir === undefined) return entries;
  const man = join(generatedDir, 'man/man1/sftpgo.1');
  // gzip -9n's bytes: no name or time in the header, so the package stays reproducible
  if (existsSync(man)) entries.push({ path: '/usr/share/man/man1/sftpgo.1.gz', mode: 0o644, kind: 'man', from: { text: gzipSync(readFileSync(man), { level: 9 }) } });
  for (const [from, path] of Object.entries(GENERATED_PATHS))
    if (existsSync(join(generatedDir, from))) entries.push({ path, mode: 0o644, kind: 'completion', from: { file: join(generatedDir, from) } });
  return entries;
}

export interface Arch {
  /** The name packaging/stage.ts and the release archives use. */
  stage: StageArch;
  deb: 'amd64' | 'arm64';
  rpm: 'x86_64' | 'aarch64';
}

const ELF_MACHINES: Record<number, Arch> = {
  [EM_X86_64]: { stage: 'x64', deb: 'amd64', rpm: 'x86_64' },
  [EM_AARCH64]: { stage: 'arm64', deb: 'arm64', rpm: 'aarch64' },
};

/** The architecture an ELF executable is built for, from its header (e_machine). */
export function archOf(binary: string): Arch {
  const header = elfHeader(readFileSync(binary).subarray(0, 64));
  if (header === undefined) throw new Error(`${binary} is not a 64-bit little-endian ELF executable`);
  const arch = ELF_MACHINES[header.machine];
  if (!arch) throw new Error(`${binary}: unsupported ELF machine ${header.machine} (packages are built for x86-64 and aarch64)`);
  return arch;
}

/**
 * The newest glibc symbol version the binary or any native addon embedded in it asks for: the
 * addons are unpacked and loaded at run time, so their needs count as much as the runtime's own.
 */
export function minimumGlibc(binary: string): string {
  const text = readFileSync(binary).toString('latin1');
  let [minor, patch] = [17, 0];
  for (const m of text.matchAll(/GLIBC_2\.(\d+)(?:\.(\d+))?/g)) {
    const [mi, pa] = [Number(m[1]), Number(m[2] ?? 0)];
    if (mi > minor || (mi === minor && pa > patch)) [minor, patch] = [mi, pa];
  }
  return patch ? `2.${minor}.${patch}` : `2.${minor}`;
}
