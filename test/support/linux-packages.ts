// Builds the binary and the Linux packages from it (packaging/linux/build.ts) into temp dirs, for
// the packaging tests: gzip-compressed .deb (--fast), both formats unless told otherwise.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { BUN, ROOT } from './server.ts';
import { tempDir } from './tmp.ts';

export interface BuiltPackages {
  binary: string;
  outDir: string;
  deb?: string;
  rpm?: string;
}

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

export function buildPackages(opts: { formats?: ('deb' | 'rpm')[] } = {}): BuiltPackages {
  const binary = join(tempDir('sftpgo-pkgbuild-'), 'sftpgo');
  run(BUN, [join(ROOT, 'scripts/build.ts'), '--outfile', binary]);
  const outDir = tempDir('sftpgo-packages-');
  const formats = (opts.formats ?? ['deb', 'rpm']).join(',');
  const written = run(BUN, [join(ROOT, 'packaging/linux/build.ts'), '--binary', binary, '--out', outDir, '--formats', formats, '--fast']).trim().split('\n');
  const deb = written.find((f) => f.endsWith('.deb'));
  const rpm = written.find((f) => f.endsWith('.rpm'));
  return { binary, outDir, ...(deb ? { deb } : {}), ...(rpm ? { rpm } : {}) };
}
