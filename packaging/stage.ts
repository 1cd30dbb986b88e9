// What every packaging stage is given: `scripts/package.ts` runs each stage as
// `bun packaging/<stage>.ts --out DIR --epoch N --arch x64,arm64` and each stage reads the same
// flags here, so a stage can also be run alone. Stages meet only through files under `--out`: the
// binaries stage leaves `bin/linux-<arch>/sftpgo`, which the later ones package.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const ARCHES = ['x64', 'arm64'] as const;
export type Arch = (typeof ARCHES)[number];

export interface StageContext {
  /** The repository root. */
  root: string;
  /** package.json's version: the version in every artifact name. */
  version: string;
  /** Seconds since the epoch: the mtime of every packaged file (SOURCE_DATE_EPOCH, else the commit date). */
  epoch: number;
  arches: Arch[];
  /** Where artifacts go (default dist/packages). */
  outDir: string;
  /** Cache for downloads from the npm registry that outlive a run (default dist/cache). */
  cacheDir: string;
}

export const ROOT = resolve(import.meta.dir, '..');

/** The compiled binary the binaries stage wrote for `arch`. */
export function binaryPath(ctx: StageContext, arch: Arch): string {
  return join(ctx.outDir, 'bin', `linux-${arch}`, 'sftpgo');
}

/** The arch of this machine, whose binary can run here (to print the man page and completions). */
export function hostArch(): Arch {
  if (process.platform !== 'linux' || !(ARCHES as readonly string[]).includes(process.arch)) {
    throw new Error(`packaging runs on linux x64 or arm64, not ${process.platform}-${process.arch}`);
  }
  return process.arch as Arch;
}

export function sourceDateEpoch(root: string): number {
  const env = process.env.SOURCE_DATE_EPOCH;
  if (env !== undefined && env !== '') {
    if (!/^\d+$/.test(env)) throw new Error(`SOURCE_DATE_EPOCH must be whole seconds, not ${JSON.stringify(env)}`);
    return Number(env);
  }
  const git = spawnSync('git', ['log', '-1', '--format=%ct'], { cwd: root, encoding: 'utf8' });
  if (git.status !== 0) throw new Error(`set SOURCE_DATE_EPOCH: no git commit date here (${git.stderr.trim()})`);
  return Number(git.stdout.trim());
}

/** Reads the stage flags (see the header) from `argv`, filling in the defaults. */
export function stageContext(argv: string[]): StageContext {
  const value = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    if (i >= 0 && argv[i + 1] === undefined) throw new Error(`${flag} needs a value`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const root = ROOT;
  const arches = (value('--arch') ?? ARCHES.join(',')).split(',').map((a) => {
    if (!(ARCHES as readonly string[]).includes(a)) throw new Error(`--arch: ${a} is not one of ${ARCHES.join(', ')}`);
    return a as Arch;
  });
  const epochFlag = value('--epoch');
  if (epochFlag !== undefined && !/^\d+$/.test(epochFlag)) throw new Error(`--epoch must be whole seconds, not ${epochFlag}`);
  return {
    root,
    version: (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version,
    epoch: epochFlag !== undefined ? Number(epochFlag) : sourceDateEpoch(root),
    arches,
    outDir: resolve(value('--out') ?? join(root, 'dist/packages')),
    cacheDir: resolve(process.env.SFTPGO_BUILD_CACHE ?? join(root, 'dist/cache')),
  };
}

/** The flags that hand `ctx` to a stage script. */
export function stageArgs(ctx: StageContext): string[] {
  return ['--out', ctx.outDir, '--epoch', String(ctx.epoch), '--arch', ctx.arches.join(',')];
}
