// Turns one compiled sftpgo binary into a .deb and an .rpm for its architecture (read from the
// binary: x86-64 gives amd64 / x86_64, aarch64 gives arm64 / aarch64). `npm run package` runs
// stage.ts instead, for every arch it built.
//
//   bun packaging/linux/build.ts --binary dist/sftpgo [--out dist/packages] [--version 0.1.0]
//     [--release 1] [--formats deb,rpm] [--docs-from BINARY] [--maintainer 'Name <mail>'] [--fast]
//
// The man page and completions are printed by --docs-from (a binary that runs here), by default
// --binary itself when it is built for this machine; for another arch without --docs-from they are
// left out. Prints the path of each package it wrote, one a line.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { writeGeneratedFiles } from '../generated.ts';
import { hostArch, ROOT, sourceDateEpoch } from '../stage.ts';
import { archOf } from './layout.ts';
import { buildLinuxPackages, DEFAULT_MAINTAINER, type Format } from './packages.ts';

const { values: flags } = parseArgs({
  options: {
    binary: { type: 'string' },
    version: { type: 'string' },
    release: { type: 'string', default: '1' },
    out: { type: 'string', default: join(ROOT, 'dist/packages') },
    formats: { type: 'string', default: 'deb,rpm' },
    'docs-from': { type: 'string' },
    maintainer: { type: 'string', default: process.env.DEBEMAIL ?? DEFAULT_MAINTAINER },
    fast: { type: 'boolean', default: false },
  },
});

function fail(message: string): never {
  process.stderr.write(`packaging/linux/build.ts: ${message}\n`);
  process.exit(2);
}

if (!flags.binary) fail('--binary PATH is required');
const formats = flags.formats.split(',');
for (const f of formats) if (f !== 'deb' && f !== 'rpm') fail(`--formats: unknown format ${f} (deb, rpm)`);
const binary = resolve(flags.binary);
const generated = mkdtempSync(join(tmpdir(), 'sftpgo-generated-'));
try {
  const docsFrom = flags['docs-from'] ?? (archOf(binary).stage === hostArch() ? binary : undefined);
  if (docsFrom === undefined) console.error(`notice: ${binary} does not run here and no --docs-from was given: no man page or completions`);
  if (docsFrom !== undefined) writeGeneratedFiles({ binary: resolve(docsFrom), dir: generated });
  const written = buildLinuxPackages({
    binary,
    version: flags.version ?? (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version,
    release: flags.release,
    outDir: resolve(flags.out),
    ...(docsFrom !== undefined ? { generatedDir: generated } : {}),
    epoch: sourceDateEpoch(ROOT),
    maintainer: flags.maintainer,
    formats: formats as Format[],
    fast: flags.fast,
  });
  for (const w of written) process.stdout.write(`${w}\n`);
} catch (err) {
  process.stderr.write(`packaging/linux/build.ts: ${(err as Error).message}\n`);
  process.exitCode = 1;
} finally {
  rmSync(generated, { recursive: true, force: true });
}
