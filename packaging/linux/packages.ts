// Builds the .deb and the .rpm for one compiled binary: the shared layout, the copyright and
// changelog, then each format's builder. Used by the stage (stage.ts) and the command line (build.ts).
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildDeb } from './deb.ts';
import { copyrightFile, debianChangelog } from './docs.ts';
import { archOf, layout, minimumGlibc, PACKAGE_NAME } from './layout.ts';
import { buildRpm } from './rpm.ts';

export type Format = 'deb' | 'rpm';

export interface LinuxPackagesOptions {
  binary: string;
  /** Upstream version, e.g. 0.1.0: digits, letters, '.', '+', '~'. */
  version: string;
  /** The package release (Debian revision), 1 for the first package of a version. */
  release: string;
  outDir: string;
  /** Where packaging/generated.ts wrote the man page and completions; without it they are left out. */
  generatedDir?: string;
  /** Seconds since the epoch: the changelog date, the copyright year and every file's mtime. */
  epoch: number;
  maintainer: string;
  formats: Format[];
  /** gzip instead of xz inside the .deb: faster, for tests. */
  fast?: boolean;
}

export const DEFAULT_MAINTAINER = `${PACKAGE_NAME} packagers <packagers@${PACKAGE_NAME}.invalid>`;
const ROOT = resolve(import.meta.dir, '../..');
const DOC_DIR = `/usr/share/doc/${PACKAGE_NAME}`;

/** Writes the packages into outDir; returns their paths. */
export function buildLinuxPackages(opts: LinuxPackagesOptions): string[] {
  // Both formats compare versions; a dash would be read as the release separator.
  if (!/^[0-9][A-Za-z0-9.+~]*$/.test(opts.version)) throw new Error(`version ${opts.version}: use digits, letters, '.', '+' or '~' (no '-')`);
  if (!/^[0-9]+$/.test(opts.release)) throw new Error(`release ${opts.release}: must be a number`);
  const binary = resolve(opts.binary);
  const arch = archOf(binary);
  const glibc = minimumGlibc(binary);
  const entries = layout({ binary, packagingDir: import.meta.dir, docDir: DOC_DIR, ...(opts.generatedDir ? { generatedDir: opts.generatedDir } : {}) });
  const date = new Date(opts.epoch * 1000);
  const copyright = copyrightFile(ROOT, date.getUTCFullYear());
  mkdirSync(opts.outDir, { recursive: true });
  const work = mkdtempSync(join(tmpdir(), 'sftpgo-linuxpkg-'));
  // dpkg-deb and rpmbuild clamp file times to it, so two builds of one commit are the same bytes
  const env = { ...process.env, SOURCE_DATE_EPOCH: String(opts.epoch) };
  try {
    const written: string[] = [];
    if (opts.formats.includes('deb')) {
      const stage = join(work, 'deb');
      mkdirSync(stage);
      // the stage's own mode becomes the mode of / in the package
      chmodSync(stage, 0o755);
      const version = `${opts.version}-${opts.release}`;
      written.push(
        buildDeb({
          entries,
          version,
          arch,
          glibc,
          maintainer: opts.maintainer,
          copyright,
          changelog: debianChangelog({ version, maintainer: opts.maintainer, date }),
          packagingDir: import.meta.dir,
          docDir: DOC_DIR,
          stage,
          outDir: opts.outDir,
          compression: opts.fast ? 'gzip' : 'xz',
          env,
        }),
      );
    }
    if (opts.formats.includes('rpm')) {
      const rpmWork = join(work, 'rpm');
      mkdirSync(rpmWork);
      written.push(buildRpm({ entries, version: opts.version, release: opts.release, arch, glibc, copyright, docDir: DOC_DIR, work: rpmWork, outDir: opts.outDir, env }));
    }
    return written;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
