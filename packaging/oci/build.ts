// Builds the FROM-scratch container image without a container engine:
//
//   bun packaging/oci/build.ts --binary dist/sftpgo --version 1.2.3 --out dist/oci
//   bun packaging/oci/build.ts --binary dist/sftpgo --rootfs /rootfs     (the Dockerfile's staging step)
//
// The image holds the binary, exactly the libraries it and its embedded addons link (found with
// ldd on this machine, so build on the architecture you target), the CA bundle, passwd/group for
// the service user, the default config, the data dir and /tmp. Output is reproducible: every mtime
// and the image's creation time are $SOURCE_DATE_EPOCH (default 0).
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CA_BUNDLE_PATH, imageEntries, runtimeConfig, type Entry } from './image.ts';
import { stageRootfs, writeLayout } from './layout.ts';
import { architectureOf, requiredLibraries } from './libraries.ts';

const ROOT = join(import.meta.dir, '../..');
const HOST_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64' };

export interface BuildOptions {
  binary: string;
  version: string;
  /** Where the OCI layout goes... */
  out?: string;
  /** ...or a directory tree to stage instead. */
  rootfs?: string;
  /** The image's default config file (default: packaging/oci/sftpgo.yaml). */
  config?: string;
  /** The CA bundle to ship (default: this machine's, from Debian's ca-certificates). */
  caBundle?: string;
  epoch?: number;
}

/** The image's entries for `binary`, after checking that this machine can tell what it links. */
export function entriesFor(opts: Pick<BuildOptions, 'binary' | 'config' | 'caBundle'>): { entries: Entry[]; architecture: string } {
  const architecture = architectureOf(readFileSync(opts.binary).subarray(0, 64));
  if (architecture !== HOST_ARCH[process.arch]) {
    throw new Error(`${opts.binary} is built for ${architecture}; build the ${architecture} image on an ${architecture} machine (ldd reads the libraries it links)`);
  }
  const caBundle = opts.caBundle ?? CA_BUNDLE_PATH;
  if (!existsSync(caBundle)) throw new Error(`${caBundle} is missing: install Debian's ca-certificates (apt-get install ca-certificates) or pass --ca-bundle`);
  const entries = imageEntries({ binary: opts.binary, libraries: requiredLibraries(opts.binary), caBundle, config: opts.config });
  return { entries, architecture };
}

export function buildImage(opts: BuildOptions): string {
  // The ref name becomes the tag on `skopeo copy`/`podman load`: a Docker tag's characters.
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(opts.version)) throw new Error(`version "${opts.version}" is not a valid image tag`);
  const { entries, architecture } = entriesFor(opts);
  const epoch = opts.epoch ?? 0;
  if (opts.rootfs) {
    stageRootfs({ entries, dir: opts.rootfs, epoch });
    return `staged ${entries.length} entries in ${opts.rootfs} (linux/${architecture})`;
  }
  const out = opts.out ?? join(ROOT, 'dist/oci');
  const ref = writeLayout({ entries, runtime: runtimeConfig({ config: opts.config }), version: opts.version, architecture, epoch, out });
  return `wrote ${out}: sftpgo:${opts.version} linux/${architecture}, manifest ${ref.digest}`;
}

function epochFromEnv(): number {
  const v = process.env.SOURCE_DATE_EPOCH;
  if (v === undefined || v === '') return 0;
  if (!/^\d+$/.test(v)) throw new Error(`SOURCE_DATE_EPOCH must be whole seconds since the epoch, got "${v}"`);
  return Number(v);
}

const USAGE = `bun packaging/oci/build.ts [--binary FILE] [--version V] [--out DIR | --rootfs DIR] [--config FILE] [--ca-bundle FILE]

  --binary FILE     the compiled sftpgo binary (default: dist/sftpgo)
  --version V       the image's version and ref name (default: package.json's version)
  --out DIR         write the OCI image layout here (default: dist/oci)
  --rootfs DIR      instead, write the image's files as a directory tree (run as root)
  --config FILE     the image's default config (default: packaging/oci/sftpgo.yaml)
  --ca-bundle FILE  CA certificates to ship (default: ${CA_BUNDLE_PATH})
SOURCE_DATE_EPOCH sets the creation time and every mtime (default 0).`;

if (import.meta.main) {
  try {
    const { values } = parseArgs({
      options: {
        binary: { type: 'string' },
        version: { type: 'string' },
        out: { type: 'string' },
        rootfs: { type: 'string' },
        config: { type: 'string' },
        'ca-bundle': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    }
    if (values.out && values.rootfs) throw new Error('--out and --rootfs are exclusive');
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const line = buildImage({
      binary: resolve(values.binary ?? join(ROOT, 'dist/sftpgo')),
      version: values.version ?? pkg.version,
      out: values.out && resolve(values.out),
      rootfs: values.rootfs && resolve(values.rootfs),
      config: values.config && resolve(values.config),
      caBundle: values['ca-bundle'] && resolve(values['ca-bundle']),
      epoch: epochFromEnv(),
    });
    process.stdout.write(`${line}\n`);
  } catch (err) {
    process.stderr.write(`packaging/oci/build.ts: ${err instanceof Error ? err.message : String(err)}\n${USAGE}\n`);
    process.exit(1);
  }
}
