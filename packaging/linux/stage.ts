// Packaging stage: a .deb and an .rpm for every arch the binaries stage built, into --out beside the
// archives. The man page and completions are printed by this machine's binary, the same for all.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeGeneratedFiles } from '../generated.ts';
import { binaryPath, hostArch, stageContext } from '../stage.ts';
import { buildLinuxPackages, DEFAULT_MAINTAINER } from './packages.ts';

const ctx = stageContext(process.argv.slice(2));
const generated = mkdtempSync(join(tmpdir(), 'sftpgo-generated-'));
try {
  const host = binaryPath(ctx, hostArch());
  if (!existsSync(host)) throw new Error(`${host} is missing: the ${hostArch()} binary prints the man page and completions for every package; build it too`);
  writeGeneratedFiles({ binary: host, dir: generated });
  for (const arch of ctx.arches) {
    const binary = binaryPath(ctx, arch);
    if (!existsSync(binary)) throw new Error(`${binary} is missing: run the binaries stage first`);
    const written = buildLinuxPackages({
      binary,
      version: ctx.version,
      release: '1',
      outDir: ctx.outDir,
      generatedDir: generated,
      epoch: ctx.epoch,
      maintainer: process.env.DEBEMAIL ?? DEFAULT_MAINTAINER,
      formats: ['deb', 'rpm'],
    });
    for (const w of written) console.log(w);
  }
} finally {
  rmSync(generated, { recursive: true, force: true });
}
