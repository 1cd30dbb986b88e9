// Builds dist/sftpgo: one self-contained executable with `bun build --compile`.
//
// lmdb and msgpackr-extract find their prebuilt `.node` addons at run time through
// node-gyp-build-optional-packages, which the bundler cannot follow: a plain compile crashes outside
// the source tree ("No native build was found ... /$bunfs/root"). The plugin below rewrites those
// look-ups into static requires of this platform's prebuilt addon, which Bun then embeds, and
// inlines lmdb's compression dictionary. sodium-native (libsodium, ssh2's chacha20-poly1305) finds its
// addon through require-addon and gets the same treatment. Every rewrite must match: after a dependency
// upgrade that changes the pattern, the build fails loudly instead of producing a binary that crashes
// at start.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import type { BunPlugin } from 'bun';

const root = join(import.meta.dir, '..');
const require = createRequire(join(root, 'package.json'));
const args = process.argv.slice(2);
const outfile = valueOf('--outfile') ?? join(root, 'dist/sftpgo');
// e.g. bun-linux-x64, bun-linux-arm64-musl; default: this machine.
const target = (valueOf('--target') ?? `bun-${process.platform}-${process.arch}${isMusl() ? '-musl' : ''}`) as Bun.Build.CompileTarget;
// Cross builds: the target's Bun runtime (Bun would otherwise download it from GitHub), and a
// node_modules-shaped directory holding the target's prebuilt addon packages, which npm only
// installs for the machine it runs on (packaging/cross.ts fills both from the npm registry).
const executablePath = optionalPath(valueOf('--executable-path'));
const addonDir = optionalPath(valueOf('--addon-dir'));

function optionalPath(p: string | undefined): string | undefined {
  return p === undefined ? undefined : resolve(p);
}

function valueOf(flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
}

function isMusl(): boolean {
  if (process.platform !== 'linux') return false;
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
  return !report?.header?.glibcVersionRuntime;
}

/**
 * The prebuilt N-API addon of `pkg` (e.g. @lmdb/lmdb) for the target platform, resolved from the
 * package that loads it (`owner`, a chain of package names from the root): npm may nest these
 * platform packages below their owner rather than at the top of node_modules. `--addon-dir` is
 * looked at first. Undefined when the package has no build for the target's libc and `optional`.
 */
function prebuiltAddon(scope: string, name: string, owner: string[], optional = false): string | undefined {
  const [, platform, arch, libc] = /^bun-(\w+)-(\w+)(?:-(musl))?/.exec(target) ?? [];
  const pkgName = `${scope}/${name}-${platform}-${arch}`;
  let dir: string;
  if (addonDir !== undefined && existsSync(join(addonDir, pkgName, 'package.json'))) {
    dir = join(addonDir, pkgName);
  } else {
    try {
      let from = require;
      for (const o of owner) from = createRequire(from.resolve(`${o}/package.json`));
      dir = dirname(from.resolve(`${pkgName}/package.json`));
    } catch {
      throw new Error(`build: ${pkgName} is not installed; install it (npm install --no-save ${pkgName}) to build for ${target}`);
    }
  }
  const file = join(dir, `node.napi.${libc ?? 'glibc'}.node`);
  if (existsSync(file)) return file;
  if (optional) return undefined;
  throw new Error(`build: ${file} is missing`);
}

/**
 * sodium-native's own prebuilt addon for the target (prebuilds/<platform>-<arch>/), or undefined
 * for musl: its Linux prebuilds link glibc, and loading one on musl would crash rather than throw,
 * so musl binaries get no sodium and ssh2 falls back to its noble + WASM chacha20-poly1305.
 */
function sodiumAddon(): string | undefined {
  const [, platform, arch, libc] = /^bun-(\w+)-(\w+)(?:-(musl))?/.exec(target) ?? [];
  if (libc === 'musl') return undefined;
  const file = join(dirname(require.resolve('sodium-native/package.json')), 'prebuilds', `${platform === 'windows' ? 'win32' : platform}-${arch}`, 'sodium-native.node');
  if (!existsSync(file)) throw new Error(`build: ${file} is missing (no sodium-native prebuild for ${target})`);
  return file;
}

interface Rewrite {
  file: RegExp;
  from: string | RegExp;
  to: () => string;
}

const rewrites: Rewrite[] = [
  {
    file: /node_modules\/lmdb\/native\.js$/,
    from: 'export let nativeAddon = loadNAPI(dirName);',
    to: () => `export let nativeAddon = require(${JSON.stringify(prebuiltAddon('@lmdb', 'lmdb', ['lmdb']))});`,
  },
  {
    file: /node_modules\/lmdb\/open\.js$/,
    from: /fs\.readFileSync\(\s*new URL\(\s*'\.\/dict\/dict\.txt',\s*import\.meta\.url\.replace\([^)]*\),?\s*\),?\s*\)/,
    to: () =>
      `Buffer.from(${JSON.stringify(readFileSync(join(dirname(require.resolve('lmdb/package.json')), 'dict/dict.txt')).toString('base64'))}, 'base64')`,
  },
  {
    file: /node_modules\/msgpackr-extract\/index\.js$/,
    from: "module.exports = require('node-gyp-build-optional-packages')(__dirname);",
    // msgpackr loads this optional accelerator in a try/catch and decodes strings in JS without it;
    // the pinned release has no glibc build for linux-arm64, so such binaries go without it.
    to: () => {
      const addon = prebuiltAddon('@msgpackr-extract', 'msgpackr-extract', ['lmdb', 'msgpackr', 'msgpackr-extract'], true);
      return addon === undefined
        ? `throw new Error('msgpackr-extract: no prebuild for ${target} in this binary')`
        : `module.exports = require(${JSON.stringify(addon)})`;
    },
  },
  {
    // require-addon resolves the prebuild at run time, which the bundler cannot follow
    file: /node_modules\/sodium-native\/binding\.js$/,
    from: /require\.addon = require\('require-addon'\)\s*module\.exports = require\.addon\('\.', __filename\)/,
    to: () => {
      const addon = sodiumAddon();
      return addon === undefined
        ? `throw new Error('sodium-native: no prebuild for ${target} in this binary')`
        : `module.exports = require(${JSON.stringify(addon)})`;
    },
  },
];

const matched = new Set<Rewrite>();
const nativeAddons: BunPlugin = {
  name: 'static-native-addons',
  setup(build) {
    build.onLoad({ filter: /node_modules\/(lmdb|msgpackr-extract|sodium-native)\/.*\.js$/ }, (argsLoad) => {
      let text = readFileSync(argsLoad.path, 'utf8');
      for (const r of rewrites) {
        if (!r.file.test(argsLoad.path)) continue;
        const before = text;
        text = typeof r.from === 'string' ? text.replace(r.from, r.to()) : text.replace(r.from, r.to());
        if (text === before) throw new Error(`build: the native-addon rewrite for ${argsLoad.path} no longer matches; update scripts/build.ts`);
        matched.add(r);
      }
      return { contents: text, loader: 'js' };
    });
  },
};

/**
 * The commit and its date, baked into `sftpgo version`. SOURCE_DATE_EPOCH (reproducible builds)
 * overrides the date; outside a git checkout both read `unknown`.
 */
function buildStamp(): { commit: string; date: string } {
  const git = (...a: string[]) => {
    const r = Bun.spawnSync(['git', ...a], { cwd: root, stderr: 'ignore' });
    return r.exitCode === 0 ? r.stdout.toString().trim() : '';
  };
  const epoch = Number(process.env.SOURCE_DATE_EPOCH);
  const commitDate = git('log', '-1', '--format=%ct');
  const seconds = Number.isFinite(epoch) && process.env.SOURCE_DATE_EPOCH ? epoch : commitDate ? Number(commitDate) : undefined;
  return { commit: git('rev-parse', '--short', 'HEAD') || 'unknown', date: seconds === undefined ? 'unknown' : new Date(seconds * 1000).toISOString().replace('.000Z', 'Z') };
}
const stamp = buildStamp();

/**
 * A digest of everything that decides whether a config is valid and how it reads: the sources, the
 * schema, the locked dependencies and the runtime. A config remembered as checked by another build
 * is checked again (src/config/checked-cache.ts); unlike the commit, it changes with uncommitted edits.
 */
function sourcesDigest(): string {
  const h = createHash('sha256').update(`bun ${Bun.version}\0`);
  const files = (readdirSync(join(root, 'src'), { recursive: true }) as string[]).map((f) => join('src', f)).sort();
  for (const f of [...files, 'sftpgo.schema.json', 'package-lock.json']) {
    const path = join(root, f);
    if (!existsSync(path) || !f.match(/\.(ts|json)$/)) continue;
    h.update(f).update('\0').update(readFileSync(path)).update('\0');
  }
  return h.digest('hex').slice(0, 32);
}

mkdirSync(dirname(outfile), { recursive: true });
const started = performance.now();
const result = await Bun.build({
  entrypoints: [join(root, 'src/main.ts')],
  compile: {
    target,
    outfile,
    ...(executablePath === undefined ? {} : { executablePath }),
    // A server binary must not change behaviour because of a .env or bunfig.toml in its working dir.
    autoloadDotenv: false,
    autoloadBunfig: false,
  },
  minify: true,
  // One chunk per lazily imported module (the cloud SDKs, the FTP/WebDAV/API front-ends): the
  // binary reads and keeps resident only the code a server actually loads. Measured on an idle
  // SFTP-only serve: VmRSS 109.5 -> 102 MB (binary pages -2 MB, heap -7 MB).
  splitting: true,
  bytecode: true,
  format: 'esm',
  sourcemap: 'linked',
  // Optional native helpers ssh2 tries in a try/catch; Bun cannot load Node-ABI addons anyway.
  external: ['cpu-features'],
  define: { SFTPGO_BUILD_COMMIT: JSON.stringify(stamp.commit), SFTPGO_BUILD_DATE: JSON.stringify(stamp.date), SFTPGO_BUILD_SOURCES: JSON.stringify(sourcesDigest()) },
  plugins: [nativeAddons],
});
if (!result.success) {
  for (const log of result.logs) console.error(log);
  process.exit(1);
}
const missing = rewrites.filter((r) => !matched.has(r));
if (missing.length > 0) {
  console.error(`build: native-addon rewrites never applied (module layout changed?): ${missing.map((r) => r.file).join(', ')}`);
  process.exit(1);
}
console.log(`built ${outfile} for ${target} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
