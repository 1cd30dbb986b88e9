// What the Linux packages install and where: one list that both the .deb and the .rpm are built
// from, so the two can never ship different files. Also the facts read from the binary itself
// (its CPU architecture and the newest glibc symbol version it needs).
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';

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

/** The man page and completions, each optional: they come from `sftpgo man` / `sftpgo completion`. */
export interface Extras {
  man?: Uint8Array;
  bash?: string;
  zsh?: string;
  fish?: string;
}

export function layout(opts: { binary: string; packagingDir: string; docDir: string; extras: Extras }): Entry[] {
  const { binary, packagingDir: dir, docDir, extras } = opts;
  const entries: Entry[] = [
    { path: '/usr/bin/sftpgo', mode: 0o755, kind: 'binary', from: { file: binary } },
    { path: CONFIG_FILE, mode: 0o640, kind: 'config', from: { file: `${dir}/sftpgo.yaml` } },
    { path: '/usr/lib/systemd/system/sftpgo.service', mode: 0o644, kind: 'unit', from: { file: `${dir}/sftpgo.service` } },
    { path: `${docDir}/examples/bind-low-ports.conf`, mode: 0o644, kind: 'doc', from: { file: `${dir}/bind-low-ports.conf` } },
    { path: `${docDir}/examples/home-dirs.conf`, mode: 0o644, kind: 'doc', from: { file: `${dir}/home-dirs.conf` } },
  ];
  if (extras.man) entries.push({ path: '/usr/share/man/man1/sftpgo.1.gz', mode: 0o644, kind: 'man', from: { text: extras.man } });
  if (extras.bash) entries.push({ path: '/usr/share/bash-completion/completions/sftpgo', mode: 0o644, kind: 'completion', from: { text: extras.bash } });
  if (extras.zsh) entries.push({ path: '/usr/share/zsh/vendor-completions/_sftpgo', mode: 0o644, kind: 'completion', from: { text: extras.zsh } });
  if (extras.fish) entries.push({ path: '/usr/share/fish/vendor_completions.d/sftpgo.fish', mode: 0o644, kind: 'completion', from: { text: extras.fish } });
  return entries;
}

export interface Arch {
  deb: 'amd64' | 'arm64';
  rpm: 'x86_64' | 'aarch64';
}

const ELF_MACHINES: Record<number, Arch> = {
  0x3e: { deb: 'amd64', rpm: 'x86_64' },
  0xb7: { deb: 'arm64', rpm: 'aarch64' },
};

/** The architecture an ELF executable is built for, from its header (e_machine). */
export function archOf(binary: string): Arch {
  const head = Buffer.alloc(20);
  const fd = openSync(binary, 'r');
  try {
    readSync(fd, head, 0, 20, 0);
  } finally {
    closeSync(fd);
  }
  if (head.readUInt32BE(0) !== 0x7f454c46) throw new Error(`${binary} is not an ELF executable`);
  const machine = head.readUInt16LE(18);
  const arch = ELF_MACHINES[machine];
  if (!arch) throw new Error(`${binary}: unsupported ELF machine 0x${machine.toString(16)} (packages are built for x86-64 and aarch64)`);
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
