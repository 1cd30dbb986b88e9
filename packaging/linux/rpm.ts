// Builds the .rpm with rpmbuild from the shared layout: a generated .spec whose %install copies the
// staged prebuilt files, %pre creates the sftpgo user, and %files marks the config noreplace.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CONFIG_DIR, DESCRIPTION, PACKAGE_NAME, SERVICE_DIRS, SUMMARY, type Arch, type Entry } from './layout.ts';

export interface RpmOptions {
  entries: Entry[];
  /** Upstream version (no dash) and package release. */
  version: string;
  release: string;
  arch: Arch;
  /** The newest glibc the binary and its embedded addons need (rpm's own scan sees only the runtime). */
  glibc: string;
  copyright: string;
  docDir: string;
  /** An empty dir for rpmbuild's tree and the staged files. */
  work: string;
  outDir: string;
  env: NodeJS.ProcessEnv;
}

// rpm scriptlets get the number of installed instances after the operation in $1: 1 on first
// install, 2 on upgrade, 0 on erase.
const PRE = `getent group sftpgo >/dev/null || groupadd -r sftpgo
getent passwd sftpgo >/dev/null || useradd -r -g sftpgo -d /var/lib/sftpgo -M -s /sbin/nologin -c "sftpgo-ts server" sftpgo
exit 0`;
const POST = `if [ -d /run/systemd/system ]; then systemctl daemon-reload >/dev/null 2>&1 || :; fi`;
const PREUN = `if [ "$1" -eq 0 ] && [ -d /run/systemd/system ]; then
  systemctl --no-reload disable --now sftpgo.service >/dev/null 2>&1 || :
fi`;
const POSTUN = `if [ -d /run/systemd/system ]; then
  systemctl daemon-reload >/dev/null 2>&1 || :
  if [ "$1" -ge 1 ]; then systemctl try-restart sftpgo.service >/dev/null 2>&1 || :; fi
fi`;

export function specFile(opts: RpmOptions & { stage: string }): string {
  const files = opts.entries.map((e) => {
    switch (e.kind) {
      case 'config':
        return `%config(noreplace) %attr(0${e.mode.toString(8)},root,sftpgo) ${e.path}`;
      case 'unit':
        return `%attr(0${e.mode.toString(8)},root,root) %{_unitdir}/${e.path.split('/').pop()}`;
      case 'doc':
        return `%doc %attr(0${e.mode.toString(8)},root,root) ${e.path}`;
      default:
        return `%attr(0${e.mode.toString(8)},root,root) ${e.path}`;
    }
  });
  return [
    // Stripping a Bun-compiled binary cuts off its embedded payload; nothing here is compiled.
    '%global __strip /bin/true',
    '%global debug_package %{nil}',
    '%global __os_install_post %{nil}',
    '%global _build_id_links none',
    // file times and the build time from SOURCE_DATE_EPOCH: the same commit gives the same package
    '%global source_date_epoch_from_changelog 0',
    '%global use_source_date_epoch_as_buildtime 1',
    '%global clamp_mtime_to_source_date_epoch 1',
    '%{!?_unitdir: %global _unitdir /usr/lib/systemd/system}',
    '',
    `Name: ${PACKAGE_NAME}`,
    `Version: ${opts.version}`,
    `Release: ${opts.release}`,
    `Summary: ${SUMMARY}`,
    'License: LicenseRef-not-yet-licensed',
    // Upstream SFTPGo's package owns the same paths.
    'Conflicts: sftpgo',
    // a file, not a package name: shadow-utils on Fedora and RHEL, shadow on SUSE
    'Requires(pre): /usr/sbin/useradd',
    `Requires: glibc >= ${opts.glibc}`,
    '',
    '%description',
    ...DESCRIPTION,
    '',
    '%install',
    `cp -a ${opts.stage}/. %{buildroot}/`,
    ...SERVICE_DIRS.map((d) => `mkdir -p %{buildroot}${d}`),
    '',
    '%pre',
    PRE,
    '',
    '%post',
    POST,
    '',
    '%preun',
    PREUN,
    '',
    '%postun',
    POSTUN,
    '',
    '%files',
    `%dir %attr(0750,root,sftpgo) ${CONFIG_DIR}`,
    ...SERVICE_DIRS.map((d) => `%dir %attr(0750,sftpgo,sftpgo) ${d}`),
    `%license %attr(0644,root,root) ${opts.docDir}/copyright`,
    ...files,
    '',
  ].join('\n');
}

export function buildRpm(opts: RpmOptions): string {
  const stage = join(opts.work, 'stage');
  const all: Entry[] = [...opts.entries, { path: `${opts.docDir}/copyright`, mode: 0o644, kind: 'doc', from: { text: opts.copyright } }];
  for (const e of all) {
    const dest = join(stage, e.path);
    mkdirSync(dirname(dest), { recursive: true });
    if ('file' in e.from) copyFileSync(e.from.file, dest);
    else writeFileSync(dest, e.from.text);
    chmodSync(dest, e.mode);
  }
  const spec = join(opts.work, `${PACKAGE_NAME}.spec`);
  writeFileSync(spec, specFile({ ...opts, stage }));
  const top = join(opts.work, 'rpmbuild');
  const r = spawnSync(
    'rpmbuild',
    ['-bb', '--target', opts.arch.rpm, '--define', `_topdir ${top}`, '--define', `_unitdir /usr/lib/systemd/system`, spec],
    { encoding: 'utf8', env: opts.env },
  );
  if (r.status !== 0) throw new Error(`rpmbuild failed: ${r.stderr}${r.stdout}`);
  const dir = join(top, 'RPMS', opts.arch.rpm);
  const name = readdirSync(dir).find((f) => f.endsWith('.rpm'));
  if (!name) throw new Error(`rpmbuild wrote no package into ${dir}`);
  const out = join(opts.outDir, name);
  copyFileSync(join(dir, name), out);
  return out;
}
