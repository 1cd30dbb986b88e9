// Stage 1: the compiled binary for each arch, written to <out>/bin/linux-<arch>/sftpgo through
// scripts/build.ts (the other arch cross-compiled with packaging/cross.ts). A binary whose runtime
// or any embedded native addon is built for another machine is refused here, before it is packaged:
// it could not be run on this machine to find out.
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { crossToolchain } from './cross.ts';
import { EM_AARCH64, EM_X86_64, elfHeader, embeddedSharedObjects } from './elf.ts';
import { type Arch, type StageContext, binaryPath, hostArch, stageContext } from './stage.ts';

export const ELF_MACHINE: Record<Arch, number> = { x64: EM_X86_64, arm64: EM_AARCH64 };

/** Why `file` is not a complete linux-`arch` binary, or undefined when it is. */
export function wrongMachine(file: string, arch: Arch): string | undefined {
  const bytes = readFileSync(file);
  const own = elfHeader(bytes);
  if (own === undefined || own.machine !== ELF_MACHINE[arch]) return `${file} is not an ELF executable for ${arch} (e_machine ${own?.machine})`;
  const addons = embeddedSharedObjects(bytes);
  if (addons.length === 0) return `${file} embeds no native addon`;
  const foreign = addons.filter((a) => a.machine !== ELF_MACHINE[arch]);
  if (foreign.length > 0) return `${file} embeds addons for another machine at offsets ${foreign.map((a) => `${a.offset} (e_machine ${a.machine})`).join(', ')}`;
  return undefined;
}

export function buildBinary(ctx: StageContext, arch: Arch): string {
  const outfile = binaryPath(ctx, arch);
  // source maps land beside the binary: start from an empty dir so none is stale
  rmSync(dirname(outfile), { recursive: true, force: true });
  const args = [join(ctx.root, 'scripts/build.ts'), '--target', `bun-linux-${arch}`, '--outfile', outfile];
  if (arch !== hostArch()) {
    const cross = crossToolchain(ctx, arch);
    args.push('--executable-path', cross.executablePath, '--addon-dir', cross.addonDir);
  }
  const r = spawnSync(process.execPath, args, { cwd: ctx.root, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`building the ${arch} binary failed`);
  const wrong = wrongMachine(outfile, arch);
  if (wrong !== undefined) throw new Error(wrong);
  return outfile;
}

if (import.meta.main) {
  const ctx = stageContext(process.argv.slice(2));
  for (const arch of ctx.arches) buildBinary(ctx, arch);
}
