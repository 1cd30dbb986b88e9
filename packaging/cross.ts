// The pieces a cross build needs that npm installs only for the machine it runs on: the target's
// Bun runtime (`bun build --compile` would download it from GitHub, which is not reachable from
// every build machine) and the target's prebuilt lmdb and msgpackr-extract addons. All come from
// the npm registry at exactly the versions the installed packages name, through `npm pack`, and are
// unpacked into a cache shaped like node_modules, which scripts/build.ts reads (--addon-dir).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { type Arch, type StageContext } from './stage.ts';

export interface CrossToolchain {
  /** The target's bun executable, for Bun.build's compile.executablePath. */
  executablePath: string;
  /** node_modules-shaped dir with the target's addon packages. */
  addonDir: string;
}

interface NpmPackage {
  name: string;
  version: string;
}

function versionOf(require: NodeJS.Require, pkg: string): string {
  return (JSON.parse(readFileSync(require.resolve(`${pkg}/package.json`), 'utf8')) as { version: string }).version;
}

/** The optional platform package `dep` that `pkg` (resolved through `chain`) pins, with that pin. */
function pinnedPlatformPackage(root: string, chain: string[], dep: string): NpmPackage {
  let require = createRequire(join(root, 'package.json'));
  for (const p of chain) require = createRequire(require.resolve(`${p}/package.json`));
  const owner = chain[chain.length - 1]!;
  const manifest = JSON.parse(readFileSync(require.resolve(`${owner}/package.json`), 'utf8')) as { optionalDependencies?: Record<string, string> };
  const version = manifest.optionalDependencies?.[dep];
  if (version === undefined || !/^\d+\.\d+\.\d+$/.test(version)) throw new Error(`${owner} does not pin ${dep} to one version (${version})`);
  return { name: dep, version };
}

/** Unpacks `pkg` from the registry into <dir>/node_modules/<name> unless that version is already there. */
function ensurePackage(dir: string, pkg: NpmPackage): string {
  const dest = join(dir, 'node_modules', pkg.name);
  const manifest = join(dest, 'package.json');
  if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version === pkg.version) return dest;
  rmSync(dest, { recursive: true, force: true });
  mkdirSync(dest, { recursive: true });
  const tmp = mkdtempSync(join(dir, '.pack-'));
  try {
    // npm pack checks the tarball against the registry's integrity hash
    const pack = spawnSync('npm', ['pack', `${pkg.name}@${pkg.version}`, '--pack-destination', tmp, '--json', '--silent'], { encoding: 'utf8' });
    if (pack.status !== 0) throw new Error(`npm pack ${pkg.name}@${pkg.version} failed: ${pack.stderr}`);
    const [{ filename }] = JSON.parse(pack.stdout) as [{ filename: string }];
    const untar = spawnSync('tar', ['-xzf', join(tmp, filename), '-C', dest, '--strip-components=1', '--no-same-owner'], { encoding: 'utf8' });
    if (untar.status !== 0) throw new Error(`unpacking ${filename} failed: ${untar.stderr}`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  console.log(`fetched ${pkg.name}@${pkg.version} from the npm registry`);
  return dest;
}

/** Fetches (once) what building for linux-`arch` on another machine needs. */
export function crossToolchain(ctx: StageContext, arch: Arch): CrossToolchain {
  const require = createRequire(join(ctx.root, 'package.json'));
  const bunVersion = versionOf(require, 'bun');
  // The runtime must match the compiler that writes the bundle and bytecode into it
  if (bunVersion !== Bun.version) throw new Error(`the installed bun package is ${bunVersion} but this is bun ${Bun.version}; run the build with node_modules/.bin/bun`);
  const dir = join(ctx.cacheDir, `linux-${arch}`);
  mkdirSync(dir, { recursive: true });
  const npmArch = arch === 'arm64' ? 'aarch64' : arch;
  const runtime = ensurePackage(dir, { name: `@oven/bun-linux-${npmArch}`, version: bunVersion });
  ensurePackage(dir, pinnedPlatformPackage(ctx.root, ['lmdb'], `@lmdb/lmdb-linux-${arch}`));
  ensurePackage(dir, pinnedPlatformPackage(ctx.root, ['lmdb', 'msgpackr', 'msgpackr-extract'], `@msgpackr-extract/msgpackr-extract-linux-${arch}`));
  return { executablePath: join(runtime, 'bin/bun'), addonDir: join(dir, 'node_modules') };
}
