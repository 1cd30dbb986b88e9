// Turns a compiled sftpgo binary into a .deb and an .rpm for its architecture (read from the binary:
// x86-64 gives amd64 / x86_64, aarch64 gives arm64 / aarch64).
//
//   bun packaging/linux/build.ts --binary dist/sftpgo [--version 0.1.0] [--release 1] [--out dist/packages]
//     [--formats deb,rpm] [--man FILE] [--bash FILE] [--zsh FILE] [--fish FILE] [--fast]
//
// The man page and shell completions come from the given files, else from running the binary
// (`sftpgo man`, `sftpgo completion <shell>`) when it runs on this machine and has those commands;
// whatever is found neither way is left out. Prints the path of each package it wrote, one a line.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { buildDeb } from './deb.ts';
import { copyrightFile, debianChangelog } from './docs.ts';
import { archOf, layout, minimumGlibc, PACKAGE_NAME, type Extras } from './layout.ts';
import { buildRpm } from './rpm.ts';

const root = resolve(import.meta.dir, '../..');
const packagingDir = import.meta.dir;
const docDir = `/usr/share/doc/${PACKAGE_NAME}`;

const { values: flags } = parseArgs({
  options: {
    binary: { type: 'string' },
    version: { type: 'string' },
    release: { type: 'string', default: '1' },
    out: { type: 'string', default: join(root, 'dist/packages') },
    formats: { type: 'string', default: 'deb,rpm' },
    maintainer: { type: 'string', default: process.env.DEBEMAIL ?? `${PACKAGE_NAME} packagers <packagers@${PACKAGE_NAME}.invalid>` },
    man: { type: 'string' },
    bash: { type: 'string' },
    zsh: { type: 'string' },
    fish: { type: 'string' },
    fast: { type: 'boolean', default: false },
  },
});

function fail(message: string): never {
  process.stderr.write(`packaging/linux/build.ts: ${message}\n`);
  process.exit(2);
}

/** Output of `binary ...args` when it runs here and succeeds, else undefined (other arch, no such command). */
function fromBinary(binary: string, args: string[]): Buffer | undefined {
  const r = spawnSync(binary, args, { timeout: 30_000 });
  return r.status === 0 && r.stdout.length > 0 ? r.stdout : undefined;
}

function extras(binary: string): Extras {
  const read = (file: string | undefined, args: string[]) => (file ? readFileSync(file) : fromBinary(binary, args));
  const man = read(flags.man, ['man']);
  const [bash, zsh, fish] = (['bash', 'zsh', 'fish'] as const).map((sh) => read(flags[sh], ['completion', sh])?.toString('utf8'));
  return {
    ...(man ? { man: gzipSync(man, { level: 9 }) } : {}),
    ...(bash ? { bash } : {}),
    ...(zsh ? { zsh } : {}),
    ...(fish ? { fish } : {}),
  };
}

if (!flags.binary) fail('--binary PATH is required');
const binary = resolve(flags.binary);
const version = flags.version ?? (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
// Both formats compare versions; a dash would be read as the release separator.
if (!/^[0-9][A-Za-z0-9.+~]*$/.test(version)) fail(`--version ${version}: use digits, letters, '.', '+' or '~' (no '-')`);
if (!/^[0-9]+$/.test(flags.release)) fail(`--release ${flags.release}: must be a number`);
const formats = flags.formats.split(',');
for (const f of formats) if (f !== 'deb' && f !== 'rpm') fail(`--formats: unknown format ${f} (deb, rpm)`);

const arch = archOf(binary);
const glibc = minimumGlibc(binary);
const entries = layout({ binary, packagingDir, docDir, extras: extras(binary) });
// Reproducible builds set SOURCE_DATE_EPOCH; it dates the changelog and the copyright.
const date = process.env.SOURCE_DATE_EPOCH ? new Date(Number(process.env.SOURCE_DATE_EPOCH) * 1000) : new Date();
const copyright = copyrightFile(root, date.getUTCFullYear());
const outDir = resolve(flags.out);
mkdirSync(outDir, { recursive: true });
const work = mkdtempSync(join(tmpdir(), 'sftpgo-linuxpkg-'));
try {
  const written: string[] = [];
  if (formats.includes('deb')) {
    const stage = join(work, 'deb');
    mkdirSync(stage);
    // the stage's own mode becomes the mode of / in the package
    chmodSync(stage, 0o755);
    const debVersion = `${version}-${flags.release}`;
    written.push(
      buildDeb({
        entries,
        version: debVersion,
        arch,
        glibc,
        maintainer: flags.maintainer,
        copyright,
        changelog: debianChangelog({ version: debVersion, maintainer: flags.maintainer, date }),
        packagingDir,
        docDir,
        stage,
        outDir,
        compression: flags.fast ? 'gzip' : 'xz',
      }),
    );
  }
  if (formats.includes('rpm')) {
    const rpmWork = join(work, 'rpm');
    mkdirSync(rpmWork);
    written.push(buildRpm({ entries, version, release: flags.release, arch, glibc, copyright, docDir, work: rpmWork, outDir }));
  }
  for (const w of written) process.stdout.write(`${w}\n`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
