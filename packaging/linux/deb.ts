// Builds the .deb with dpkg-deb from the shared layout: control file, conffiles, md5sums, the
// maintainer scripts in debian/, a lintian overrides file, and every file root-owned.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DESCRIPTION, PACKAGE_NAME, SUMMARY, type Arch, type Entry } from './layout.ts';

export interface DebOptions {
  entries: Entry[];
  /** Debian version with revision, e.g. 0.1.0-1. */
  version: string;
  arch: Arch;
  glibc: string;
  maintainer: string;
  copyright: string;
  changelog: string;
  /** The dir holding debian/ (maintainer scripts). */
  packagingDir: string;
  docDir: string;
  /** An empty dir to stage the tree in. */
  stage: string;
  outDir: string;
  /** dpkg-deb compressor: xz (default, smallest) or gzip (fast, for tests). */
  compression: 'xz' | 'gzip';
  env: NodeJS.ProcessEnv;
}

const SCRIPTS = ['postinst', 'prerm', 'postrm'];

// Each with the reason it does not apply to this package.
const LINTIAN_OVERRIDES = `# The executable is Bun's prebuilt runtime with the application appended (\`bun build --compile\`).
# strip would cut off that appended payload and leave a binary that crashes at start.
${PACKAGE_NAME}: unstripped-binary-or-object [usr/bin/sftpgo]
# The runtime links its own libraries statically (libjpeg among them); the one-file binary is the
# release artifact, tested as is.
${PACKAGE_NAME}: embedded-library * [usr/bin/sftpgo]
# It is not compiled here, so the build cannot make it position-independent or add RELRO.
${PACKAGE_NAME}: hardening-no-pie [usr/bin/sftpgo]
${PACKAGE_NAME}: hardening-no-relro [usr/bin/sftpgo]
# The config holds passwords once edited: readable by root and the sftpgo group only (the group is
# set by a stat override in postinst).
${PACKAGE_NAME}: non-standard-file-perm 0640 != 0644 [etc/sftpgo/sftpgo.yaml]
# Built outside the Debian archive: there is no ITP bug to close.
${PACKAGE_NAME}: initial-upload-closes-no-bugs *
`;

export function buildDeb(opts: DebOptions): string {
  const { stage } = opts;
  // deb-systemd-helper before Debian 12 and Ubuntu 23.04 looks for units only under /lib, which on
  // a system without merged /usr is not /usr/lib; on a merged one the two are the same dir.
  const entries = opts.entries.map((e) => (e.kind === 'unit' ? { ...e, path: `/lib/systemd/system/${basename(e.path)}` } : e));
  const all = [
    ...entries,
    { path: `${opts.docDir}/copyright`, mode: 0o644, kind: 'doc', from: { text: opts.copyright } },
    { path: `${opts.docDir}/changelog.Debian.gz`, mode: 0o644, kind: 'doc', from: { text: gzipSync(opts.changelog, { level: 9 }) } },
    { path: `/usr/share/lintian/overrides/${PACKAGE_NAME}`, mode: 0o644, kind: 'doc', from: { text: LINTIAN_OVERRIDES } },
  ] satisfies Entry[];
  const md5: string[] = [];
  let bytes = 0;
  for (const e of all) {
    const dest = join(stage, e.path);
    mkdirSync(dirname(dest), { recursive: true, mode: 0o755 });
    if ('file' in e.from) copyFileSync(e.from.file, dest);
    else writeFileSync(dest, e.from.text);
    chmodSync(dest, e.mode);
    const content = readFileSync(dest);
    md5.push(`${createHash('md5').update(content).digest('hex')}  ${e.path.slice(1)}`);
    bytes += statSync(dest).size;
  }
  const control = join(stage, 'DEBIAN');
  mkdirSync(control, { mode: 0o755 });
  writeFileSync(join(control, 'control'), controlFile({ ...opts, installedKiB: Math.ceil(bytes / 1024) }));
  writeFileSync(join(control, 'conffiles'), all.filter((e) => e.kind === 'config').map((e) => `${e.path}\n`).join(''));
  writeFileSync(join(control, 'md5sums'), md5.map((l) => `${l}\n`).join(''));
  for (const s of SCRIPTS) {
    copyFileSync(join(opts.packagingDir, 'debian', s), join(control, s));
    chmodSync(join(control, s), 0o755);
  }
  const out = join(opts.outDir, `${PACKAGE_NAME}_${opts.version}_${opts.arch.deb}.deb`);
  const r = spawnSync('dpkg-deb', ['--root-owner-group', `-Z${opts.compression}`, '--build', stage, out], { encoding: 'utf8', env: opts.env });
  if (r.status !== 0) throw new Error(`dpkg-deb failed: ${r.stderr}${r.stdout}`);
  return out;
}

function controlFile(opts: DebOptions & { installedKiB: number }): string {
  return [
    `Package: ${PACKAGE_NAME}`,
    `Version: ${opts.version}`,
    `Architecture: ${opts.arch.deb}`,
    `Maintainer: ${opts.maintainer}`,
    `Installed-Size: ${opts.installedKiB}`,
    `Depends: libc6 (>= ${opts.glibc}), adduser`,
    // Upstream SFTPGo's package owns the same paths (/usr/bin/sftpgo, the unit, /etc/sftpgo).
    'Conflicts: sftpgo',
    'Section: net',
    'Priority: optional',
    `Description: ${SUMMARY}`,
    ...DESCRIPTION.map((l) => ` ${l}`),
    '',
  ].join('\n');
}
