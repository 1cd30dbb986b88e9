// Stage 2: the release archives, <out>/sftpgo-<version>-linux-<arch>.tar.gz with a `.sha256` that
// `sha256sum -c` accepts. Each holds one top dir with the binary, README, the example configs and
// their schema, the systemd unit and fail2ban files when the tree has them, the man page and the
// shell completions. The same inputs give the same bytes: sorted names, every mtime the source
// date, owner 0:0, fixed modes, and a gzip header without name or time.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { writeGeneratedFiles } from './generated.ts';
import { type Arch, type StageContext, binaryPath, hostArch, stageContext } from './stage.ts';

/** Source (relative to the root) → path inside the archive's top dir, for those that exist. */
const OPTIONAL_FILES: [string, string][] = [
  ['LICENSE', 'LICENSE'],
  ['packaging/linux/sftpgo.service', 'systemd/sftpgo.service'],
  ['packaging/fail2ban', 'fail2ban'],
];
const FILES: [string, string][] = [
  ['README.md', 'README.md'],
  ['examples', 'examples'],
  ['sftpgo.schema.json', 'sftpgo.schema.json'],
];

export function archiveName(ctx: StageContext, arch: Arch): string {
  return `sftpgo-${ctx.version}-linux-${arch}`;
}

/** Directories 0755, files 0644, the binary 0755: whatever the umask of the checkout. */
function normaliseModes(dir: string): void {
  chmodSync(dir, 0o755);
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) normaliseModes(p);
    else chmodSync(p, 0o644);
  }
}

function stageTree(ctx: StageContext, arch: Arch, generated: string, into: string): void {
  mkdirSync(into, { recursive: true });
  for (const [from, to] of FILES) cpSync(join(ctx.root, from), join(into, to), { recursive: true });
  for (const [from, to] of OPTIONAL_FILES) {
    if (existsSync(join(ctx.root, from))) cpSync(join(ctx.root, from), join(into, to), { recursive: true });
  }
  if (existsSync(generated)) cpSync(generated, into, { recursive: true });
  normaliseModes(into);
  const binary = binaryPath(ctx, arch);
  if (!existsSync(binary)) throw new Error(`${binary} is missing: run the binaries stage first`);
  cpSync(binary, join(into, 'sftpgo'));
  chmodSync(join(into, 'sftpgo'), 0o755);
}

/** Writes the archive and its checksum file; returns the archive's path. */
export function buildArchive(ctx: StageContext, arch: Arch, generated: string): string {
  const name = archiveName(ctx, arch);
  const work = mkdtempSync(join(tmpdir(), 'sftpgo-archive-'));
  try {
    stageTree(ctx, arch, generated, join(work, name));
    const tar = spawnSync(
      'tar',
      ['--create', '--format=gnu', '--sort=name', `--mtime=@${ctx.epoch}`, '--owner=0', '--group=0', '--numeric-owner', '-C', work, name],
      { maxBuffer: 1 << 30 },
    );
    if (tar.status !== 0) throw new Error(`tar failed: ${tar.stderr.toString()}`);
    // zlib writes mtime 0 and no file name into the gzip header
    const gz = gzipSync(tar.stdout, { level: 9 });
    mkdirSync(ctx.outDir, { recursive: true });
    const file = join(ctx.outDir, `${name}.tar.gz`);
    writeFileSync(file, gz);
    writeFileSync(`${file}.sha256`, `${createHash('sha256').update(gz).digest('hex')}  ${basename(file)}\n`);
    console.log(`wrote ${file} (${(statSync(file).size / 2 ** 20).toFixed(1)} MiB)`);
    return file;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const ctx = stageContext(process.argv.slice(2));
  // the man page and completions come from the binary that runs here; they are the same for every arch
  const generated = mkdtempSync(join(tmpdir(), 'sftpgo-generated-'));
  try {
    const host = binaryPath(ctx, hostArch());
    if (!existsSync(host)) throw new Error(`${host} is missing: the ${hostArch()} binary prints the man page and completions for every archive; build it too`);
    writeGeneratedFiles({ binary: host, dir: generated });
    for (const arch of ctx.arches) buildArchive(ctx, arch, generated);
  } finally {
    rmSync(generated, { recursive: true, force: true });
  }
}
