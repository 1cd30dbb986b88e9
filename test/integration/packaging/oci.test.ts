// The container image built without a container engine (packaging/oci/build.ts): the layout is
// read the way a registry client does (index -> manifest -> config and layers, each blob checked
// against its digest and size), the layer is unpacked into a temp root, and the binary runs there
// as the image's user with the image's environment: version, validate, serve with a real OpenSSH
// sftp client, and the image's healthcheck. The Dockerfile is held to the same files and config.
// Needs root (chroot, a private mount namespace for /proc, files owned by the service user).
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { BINARY_PATH, CONFIG_PATH, DATA_DIR, SERVICE_USER, runtimeConfig, type RuntimeConfig } from '../../../packaging/oci/image.ts';
import { MEDIA_TYPES, type Descriptor } from '../../../packaging/oci/layout.ts';
import { lddPaths } from '../../../packaging/oci/libraries.ts';
import { freePort } from '../../support/net.ts';
import { BUN, ROOT, startServer } from '../../support/server.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';

const VERSION = '9.8.7-test';
const BUILD_SCRIPT = join(ROOT, 'packaging/oci/build.ts');

let binary = '';
let layout = '';
let rootfs = '';

afterAll(removeTempDirs);

function sh(cmd: string, args: string[], opts: { input?: string; cwd?: string } = {}) {
  return spawnSync(cmd, args, { encoding: 'utf8', input: opts.input, cwd: opts.cwd, maxBuffer: 64 * 1024 * 1024 });
}

function buildLayout(out: string): void {
  const r = sh(BUN, [BUILD_SCRIPT, '--binary', binary, '--version', VERSION, '--out', out]);
  if (r.status !== 0) throw new Error(`layout build failed: ${r.stderr}${r.stdout}`);
}

function readBlob(dir: string, d: Descriptor): Buffer {
  expect(d.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  const data = readFileSync(join(dir, 'blobs/sha256', d.digest.slice('sha256:'.length)));
  expect(data.length).toBe(d.size);
  expect(`sha256:${createHash('sha256').update(data).digest('hex')}`).toBe(d.digest);
  return data;
}

interface Image {
  manifest: { schemaVersion: number; mediaType: string; config: Descriptor; layers: Descriptor[]; annotations: Record<string, string> };
  config: { architecture: string; os: string; config: RuntimeConfig; rootfs: { type: string; diff_ids: string[] } };
  /** Each layer uncompressed, in order. */
  layers: Buffer[];
}

/** Follows index.json to the one manifest, its config and layers, checking every blob. */
function readImage(dir: string): Image {
  expect(JSON.parse(readFileSync(join(dir, 'oci-layout'), 'utf8'))).toEqual({ imageLayoutVersion: '1.0.0' });
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { schemaVersion: number; mediaType: string; manifests: Descriptor[] };
  expect(index.schemaVersion).toBe(2);
  expect(index.mediaType).toBe(MEDIA_TYPES.index);
  expect(index.manifests).toHaveLength(1);
  const ref = index.manifests[0]!;
  expect(ref.mediaType).toBe(MEDIA_TYPES.manifest);
  expect(ref.annotations?.['org.opencontainers.image.ref.name']).toBe(VERSION);
  const manifest = JSON.parse(readBlob(dir, ref).toString()) as Image['manifest'];
  expect(manifest.schemaVersion).toBe(2);
  expect(manifest.mediaType).toBe(MEDIA_TYPES.manifest);
  expect(manifest.config.mediaType).toBe(MEDIA_TYPES.config);
  const config = JSON.parse(readBlob(dir, manifest.config).toString()) as Image['config'];
  const layers = manifest.layers.map((l) => {
    expect(l.mediaType).toBe(MEDIA_TYPES.layer);
    return gunzipSync(readBlob(dir, l));
  });
  expect(config.rootfs.type).toBe('layers');
  expect(config.rootfs.diff_ids).toEqual(layers.map((t) => `sha256:${createHash('sha256').update(t).digest('hex')}`));
  expect(ref.platform).toEqual({ architecture: config.architecture, os: 'linux' });
  return { manifest, config, layers };
}

/**
 * The argv that runs `args` inside the unpacked image as its runtime would: only the image's Env,
 * its User and WorkingDir, the root switched to the image. The binary needs /proc (Bun reads
 * /proc/self/exe); it is mounted in a private mount namespace that ends with the process, so
 * nothing is left mounted on the host.
 */
function inImage(cfg: RuntimeConfig, args: string[]): string[] {
  const [uid, gid] = cfg.User.split(':');
  return ['env', '-i', ...cfg.Env, 'unshare', '--mount', '--mount-proc=/proc', `--root=${rootfs}`, `--wd=${cfg.WorkingDir}`, '--setgid', gid!, '--setuid', uid!, ...args];
}

function runInImage(cfg: RuntimeConfig, args: string[]) {
  const [cmd, ...argv] = inImage(cfg, args);
  return sh(cmd!, argv);
}

/** Paths under `dir` with type, mode, owner, size and mtime, as the layer should give them. */
function treeOf(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string) => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const path = `${rel}/${name}`;
      const st = lstatSync(join(dir, path));
      out.set(path, `${st.isDirectory() ? 'd' : st.isFile() ? 'f' : 'other'} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid} ${st.isFile() ? st.size : 0} ${Math.floor(st.mtimeMs / 1000)}`);
      if (st.isDirectory()) walk(path);
    }
  };
  walk('');
  return out;
}

/** The layer's entries, read from its tar headers, in treeOf's format. */
function layerListing(tar: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  const field = (h: Buffer, at: number, len: number) => h.subarray(at, at + len).toString('utf8').replace(/\0.*$/s, '');
  for (let at = 0; at + 512 <= tar.length; ) {
    const h = tar.subarray(at, at + 512);
    if (h.every((b) => b === 0)) break;
    const prefix = field(h, 345, 155);
    const name = `/${prefix ? `${prefix}/` : ''}${field(h, 0, 100)}`.replace(/\/$/, '');
    const size = parseInt(field(h, 124, 12), 8);
    const type = field(h, 156, 1) === '5' ? 'd' : field(h, 156, 1) === '0' ? 'f' : 'other';
    out.set(name, `${type} ${parseInt(field(h, 100, 8), 8).toString(8)} ${parseInt(field(h, 108, 8), 8)}:${parseInt(field(h, 116, 8), 8)} ${size} ${parseInt(field(h, 136, 12), 8)}`);
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

beforeAll(() => {
  const dir = tempDir('sftpgo-oci-');
  binary = join(dir, 'sftpgo');
  const b = sh(BUN, [join(ROOT, 'scripts/build.ts'), '--outfile', binary], { cwd: ROOT });
  if (b.status !== 0) throw new Error(`build failed: ${b.stderr}${b.stdout}`);
  layout = join(dir, 'oci');
  buildLayout(layout);
  // Unpacked the way a runtime does: every layer in manifest order, owners and modes kept.
  rootfs = join(dir, 'rootfs');
  mkdirSync(rootfs);
  const { layers } = readImage(layout);
  for (const [i, layer] of layers.entries()) {
    writeFileSync(join(dir, `layer-${i}.tar`), layer);
    const x = sh('tar', ['-xpf', join(dir, `layer-${i}.tar`), '-C', rootfs, '--numeric-owner', '--same-owner']);
    if (x.status !== 0) throw new Error(`unpacking layer ${i}: ${x.stderr}`);
  }
  // The mount point a runtime creates for /proc.
  mkdirSync(join(rootfs, 'proc'));
}, 240_000);

describe('the OCI image layout', () => {
  test('index, manifest, config and layer are well-formed and their digests and sizes hold', () => {
    const { manifest, config, layers } = readImage(layout);
    expect(layers).toHaveLength(1);
    expect(manifest.annotations['org.opencontainers.image.version']).toBe(VERSION);
    expect(config.architecture).toBe(process.arch === 'arm64' ? 'arm64' : 'amd64');
    expect(config.os).toBe('linux');
    expect(config.config).toEqual(runtimeConfig());
    expect(config.config.User).toBe(`${SERVICE_USER.uid}:${SERVICE_USER.gid}`);
    expect(config.config.Entrypoint).toEqual(['/usr/bin/sftpgo']);
    expect(config.config.Cmd).toEqual(['serve']);
    // The default config serves SFTP only, so only its port is exposed.
    expect(config.config.ExposedPorts).toEqual({ '2022/tcp': {} });
    expect(config.config.Env).toEqual(['TMPDIR=/tmp', `SFTPGO_CONFIG=${CONFIG_PATH}`, `SFTPGO_DATA_DIR=${DATA_DIR}`]);
    expect(config.config.Healthcheck.Test).toEqual(['CMD', BINARY_PATH, 'ping']);
  });

  test('skopeo and umoci read the layout', () => {
    const inspect = sh('skopeo', ['inspect', '--config', `oci:${layout}:${VERSION}`]);
    expect(inspect.status).toBe(0);
    const cfg = JSON.parse(inspect.stdout) as Image['config'];
    expect(cfg.config.Entrypoint).toEqual(['/usr/bin/sftpgo']);
    expect(cfg.config.User).toBe('1000:1000');
    expect(Object.keys(cfg.config.ExposedPorts)).toEqual(['2022/tcp']);
    // What `skopeo copy ... docker-daemon:` hands Docker, written as the `docker load` archive: the
    // config goes over byte for byte, Healthcheck included (skopeo's own inspect drops that field).
    const archive = join(tempDir('sftpgo-docker-archive-'), 'image.tar');
    expect(sh('skopeo', ['copy', '-q', `oci:${layout}:${VERSION}`, `docker-archive:${archive}:sftpgo:${VERSION}`]).status).toBe(0);
    const [entry] = JSON.parse(sh('tar', ['-xOf', archive, 'manifest.json']).stdout) as { Config: string; RepoTags: string[] }[];
    expect(entry!.RepoTags).toEqual([`docker.io/library/sftpgo:${VERSION}`]);
    const dockerConfig = JSON.parse(sh('tar', ['-xOf', archive, entry!.Config]).stdout) as Image['config'];
    expect(dockerConfig.config).toEqual(runtimeConfig());
    const bundle = join(tempDir('sftpgo-umoci-'), 'bundle');
    const unpack = sh('umoci', ['unpack', '--image', `${layout}:${VERSION}`, bundle]);
    expect(unpack.stderr).not.toContain('level=error');
    expect(unpack.status).toBe(0);
    expect(statSync(join(bundle, 'rootfs/usr/bin/sftpgo')).size).toBe(statSync(binary).size);
  });

  test('a second build from the same inputs gives the same digests', () => {
    const again = join(tempDir('sftpgo-oci-again-'), 'oci');
    buildLayout(again);
    expect(readFileSync(join(again, 'index.json'), 'utf8')).toBe(readFileSync(join(layout, 'index.json'), 'utf8'));
  }, 120_000);

  test('the root holds the binary, exactly the libraries it links, and no shell', () => {
    expect(readFileSync(join(rootfs, 'usr/bin/sftpgo')).equals(readFileSync(binary))).toBe(true);
    for (const shell of ['bin/sh', 'usr/bin/sh', 'bin/busybox', 'usr/bin/busybox', 'bin/bash']) expect(existsSync(join(rootfs, shell))).toBe(false);
    const tree = layerListing(readImage(layout).layers[0]!);
    const files = [...tree].filter(([, v]) => v.startsWith('f ')).map(([p]) => p);
    const libraries = files.filter((p) => p.startsWith('/lib') || p.startsWith('/usr/lib'));
    // The binary's own links, plus what its embedded addons link (libstdc++ for lmdb and sodium).
    for (const lib of lddPaths(binary)) expect(libraries).toContain(lib);
    expect(libraries.some((p) => p.includes('libstdc++.so'))).toBe(true);
    expect(libraries.filter((p) => !lddPaths(binary).includes(p)).every((p) => /libstdc\+\+|libgcc_s/.test(p))).toBe(true);
    expect(files.filter((p) => !libraries.includes(p)).sort()).toEqual(
      ['/etc/group', '/etc/nsswitch.conf', '/etc/passwd', CONFIG_PATH, '/etc/ssl/certs/ca-certificates.crt', BINARY_PATH].sort(),
    );
    expect(readFileSync(join(rootfs, 'etc/passwd'), 'utf8')).toContain('sftpgo:x:1000:1000:');
    expect(readFileSync(join(rootfs, 'etc/group'), 'utf8')).toContain('sftpgo:x:1000:');
    expect(readFileSync(join(rootfs, 'etc/ssl/certs/ca-certificates.crt'), 'utf8')).toContain('-----BEGIN CERTIFICATE-----');
    // Root owns everything but the data dir; /tmp takes anyone's files, with the sticky bit.
    expect(tree.get('/tmp')).toMatch(/^d 1777 0:0 /);
    expect(tree.get(DATA_DIR)).toMatch(/^d 750 1000:1000 /);
    for (const [p, v] of tree) if (p !== DATA_DIR) expect(`${p} ${v}`).toMatch(/ 0:0 /);
    // Reproducible: one fixed mtime (SOURCE_DATE_EPOCH unset: 0).
    for (const [p, v] of tree) expect(`${p} ${v}`).toMatch(/ 0$/);
  });
});

describe('the image runs', () => {
  const cfg = runtimeConfig();

  test('version and validate run as the image user with the default config from SFTPGO_CONFIG', () => {
    const v = runInImage(cfg, [...cfg.Entrypoint, 'version', '--verbose']);
    expect(v.stderr).toBe('');
    expect(v.status).toBe(0);
    expect(v.stdout).toMatch(/^sftpgo \d+\.\d+\.\d+ \(bun /);
    // libsodium loads from inside the image (it needs libstdc++, which only the addon's ldd names)
    expect(v.stdout).toContain('\nssh chacha20-poly1305: sodium\n');
    // The addon was unpacked into the image's /tmp by the image's user.
    expect(readdirSync(join(rootfs, 'tmp')).some((f) => f.startsWith(`.bun-${SERVICE_USER.uid}-`))).toBe(true);
    const val = runInImage(cfg, [...cfg.Entrypoint, 'validate']);
    expect(val.status).toBe(0);
    expect(val.stdout).toBe(`${CONFIG_PATH}: valid (1 users, 0 folders, 0 groups, 0 admins)\n`);
    const plan = runInImage(cfg, [...cfg.Entrypoint, 'plan']);
    expect(plan.status).toBe(0);
    expect(plan.stdout).toContain('+ user demo');
  });

  /** Puts a config serving SFTP on a free loopback port over the image's default one, as a user mounts theirs. */
  async function useTestConfig(): Promise<number> {
    const port = await freePort();
    writeFileSync(
      join(rootfs, CONFIG_PATH),
      `sftpd:\n  bindings: [{ address: 127.0.0.1, port: ${port} }]\ndata_provider:\n  data_dir: ${DATA_DIR}\nusers:\n  - { username: alice, password: pw-alice, home_dir: ${DATA_DIR}/home/alice, permissions: { "/": ["*"] } }\n`,
    );
    return port;
  }

  function startInImage() {
    return startServer({ command: inImage(cfg, [...cfg.Entrypoint, ...cfg.Cmd]), dataDir: join(rootfs, DATA_DIR), cwd: tempDir('sftpgo-oci-cwd-') });
  }

  test('serve (Entrypoint and Cmd) answers a real sftp client, and stops cleanly on SIGTERM', async () => {
    const port = await useTestConfig();
    const s = await startInImage();
    try {
      expect(s.logs.some((l) => l.event === 'reconcile_change' && l.name === 'alice')).toBe(true);
      const work = tempDir('sftpgo-oci-client-');
      const data = randomBytes(1024 * 1024 + 7);
      writeFileSync(join(work, 'up.bin'), data);
      const r = sh(
        'sshpass',
        ['-p', 'pw-alice', 'sftp', '-o', 'BatchMode=no', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-P', String(port), '-b', '-', 'alice@127.0.0.1'],
        { input: `put ${join(work, 'up.bin')} up.bin\nget up.bin ${join(work, 'down.bin')}\n`, cwd: work },
      );
      expect(r.stderr).not.toContain('Permission denied');
      expect(r.status).toBe(0);
      const stored = join(rootfs, DATA_DIR, 'home/alice/up.bin');
      expect(readFileSync(stored).equals(data)).toBe(true);
      // Written by the image's user, in the data dir it owns.
      expect(statSync(stored).uid).toBe(SERVICE_USER.uid);
      expect(readFileSync(join(work, 'down.bin')).equals(data)).toBe(true);
    } finally {
      expect(await s.stop()).toBe(0);
    }
    // Nothing stays mounted once the processes are gone.
    expect(readFileSync('/proc/mounts', 'utf8')).not.toContain(rootfs);
  }, 120_000);

  test('the healthcheck passes while the server runs and fails once it stopped', async () => {
    const port = await useTestConfig();
    const [kind, ...check] = cfg.Healthcheck.Test;
    expect(kind).toBe('CMD');
    const s = await startInImage();
    try {
      const healthy = runInImage(cfg, check);
      expect(`${healthy.status} ${healthy.stderr}`).toBe('0 ');
      // It found the server through the image's SFTPGO_CONFIG: the SSH greeting on the configured port.
      expect(healthy.stdout).toContain(String(port));
    } finally {
      expect(await s.stop()).toBe(0);
    }
    const down = runInImage(cfg, check);
    expect(down.status).toBe(1);
    expect(down.stdout).toContain('unhealthy');
  }, 120_000);
});

/** The final stage of a Dockerfile as the runtime config it gives, and its COPY sources. */
function finalStage(text: string): { from: string; copies: string[]; runtime: Partial<RuntimeConfig> } {
  const lines = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const last = lines.findLastIndex((l) => /^FROM\s/i.test(l));
  const [, from] = /^FROM\s+(\S+)/i.exec(lines[last]!)!;
  const copies: string[] = [];
  const runtime: Partial<RuntimeConfig> = {};
  const duration = (v: string) => Number(/^(\d+)s$/.exec(v)![1]) * 1_000_000_000;
  for (const line of lines.slice(last + 1)) {
    const [, op, rest] = /^(\w+)\s+(.*)$/.exec(line)!;
    switch (op!.toUpperCase()) {
      case 'COPY': copies.push(rest!); break;
      case 'USER': runtime.User = rest; break;
      case 'ENV': runtime.Env = [...(runtime.Env ?? []), ...rest!.split(/\s+/)]; break;
      case 'WORKDIR': runtime.WorkingDir = rest; break;
      case 'VOLUME': runtime.Volumes = Object.fromEntries((JSON.parse(rest!) as string[]).map((v) => [v, {}])); break;
      case 'EXPOSE': runtime.ExposedPorts = { ...runtime.ExposedPorts, ...Object.fromEntries(rest!.split(/\s+/).map((p) => [p.includes('/') ? p : `${p}/tcp`, {}])) }; break;
      case 'ENTRYPOINT': runtime.Entrypoint = JSON.parse(rest!); break;
      case 'CMD': runtime.Cmd = JSON.parse(rest!); break;
      case 'HEALTHCHECK': {
        const m = /^((?:--\S+\s+)*)CMD\s+(\[.*\])$/.exec(rest!)!;
        const flags = Object.fromEntries([...m[1]!.matchAll(/--([\w-]+)=(\S+)/g)].map(([, k, v]) => [k, v]));
        runtime.Healthcheck = {
          Test: ['CMD', ...(JSON.parse(m[2]!) as string[])],
          Interval: duration(flags.interval!),
          Timeout: duration(flags.timeout!),
          StartPeriod: duration(flags['start-period']!),
          Retries: Number(flags.retries),
        };
        break;
      }
      default: throw new Error(`unexpected instruction in the final stage: ${line}`);
    }
  }
  return { from: from!, copies, runtime };
}

describe('the Dockerfile', () => {
  const dockerfile = readFileSync(join(ROOT, 'packaging/docker/Dockerfile'), 'utf8');

  test('its final stage is FROM scratch with the same user, env, ports, entrypoint, command and healthcheck', () => {
    const stage = finalStage(dockerfile);
    expect(stage.from).toBe('scratch');
    expect(stage.runtime).toEqual(runtimeConfig());
    expect(stage.copies).toEqual(['--from=build /rootfs/ /']);
  });

  test('its build stage stages the same files, owners and modes as the layer', () => {
    const m = /RUN npm run build\s*\\?\s*&& \.\/node_modules\/\.bin\/bun packaging\/oci\/build\.ts --binary dist\/sftpgo --rootfs \/rootfs/.exec(dockerfile);
    expect(m).not.toBeNull();
    expect(dockerfile).toMatch(/RUN npm ci\n/);
    // The same staging step, run here: the tree equals the unpacked layer.
    const staged = join(tempDir('sftpgo-oci-stage-'), 'rootfs');
    const r = sh(BUN, [BUILD_SCRIPT, '--binary', binary, '--rootfs', staged]);
    expect(r.status).toBe(0);
    expect(treeOf(staged)).toEqual(layerListing(readImage(layout).layers[0]!));
    expect(treeOf(staged).get(DATA_DIR)).toMatch(/^d 750 1000:1000 /);
    expect(treeOf(staged).get('/tmp')).toMatch(/^d 1777 0:0 /);
  }, 60_000);
});
