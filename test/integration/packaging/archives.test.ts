// `npm run package`'s binaries and archives stages, checked as a user meets the result: checksums
// that sha256sum accepts, a deterministic tar with one top dir, binaries whose runtime and every
// embedded native addon match the arch in the name, the x64 archive unpacked into an empty
// directory following the README, then serving a real sftp login, and the arm64 binary serving one
// under qemu-user.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { EM_AARCH64, EM_X86_64, elfHeader, embeddedSharedObjects } from '../../../packaging/elf.ts';
import { runCli } from '../../support/cli.ts';
import { freePort } from '../../support/net.ts';
import { runReadmeCommands } from '../../support/readme-commands.ts';
import { BUN, ROOT, startServer } from '../../support/server.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';

afterAll(removeTempDirs);

const EPOCH = 1_700_000_000; // 2023-11-14 22:13:20 UTC
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const NAMES = { x64: `sftpgo-${VERSION}-linux-x64`, arm64: `sftpgo-${VERSION}-linux-arm64` };
let out = '';

function packageStages(stages: string): void {
  const r = spawnSync(BUN, [join(ROOT, 'scripts/package.ts'), '--out', out, '--stages', stages], {
    cwd: ROOT,
    env: { ...process.env, SOURCE_DATE_EPOCH: String(EPOCH) },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`package ${stages} failed: ${r.stdout}${r.stderr}`);
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** The one file `member` of an archive, extracted into a temp dir. */
function extract(archive: string, member: string): string {
  const dir = tempDir('sftpgo-member-');
  const r = spawnSync('tar', ['-xzf', archive, '-C', dir, member], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return join(dir, member);
}

beforeAll(() => {
  out = tempDir('sftpgo-packages-');
  packageStages('binaries,archives');
}, 240_000);

describe('release archives', () => {
  test('each archive has a .sha256 that sha256sum -c accepts, naming the archive by its relative name', () => {
    for (const name of Object.values(NAMES)) {
      expect(readFileSync(join(out, `${name}.tar.gz.sha256`), 'utf8')).toBe(`${sha256(readFileSync(join(out, `${name}.tar.gz`)))}  ${name}.tar.gz\n`);
    }
    const r = spawnSync('sha256sum', ['-c', `${NAMES.x64}.tar.gz.sha256`, `${NAMES.arm64}.tar.gz.sha256`], { cwd: out, encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`${NAMES.x64}.tar.gz: OK\n${NAMES.arm64}.tar.gz: OK\n`);
    // and a damaged archive is caught
    writeFileSync(join(out, 'damaged.tar.gz'), Buffer.concat([readFileSync(join(out, `${NAMES.x64}.tar.gz`)), Buffer.from([0])]));
    writeFileSync(join(out, 'damaged.sha256'), readFileSync(join(out, `${NAMES.x64}.tar.gz.sha256`), 'utf8').replace(`${NAMES.x64}.tar.gz`, 'damaged.tar.gz'));
    expect(spawnSync('sha256sum', ['-c', 'damaged.sha256'], { cwd: out }).status).toBe(1);
  });

  test('one top dir, sorted names, owner 0:0, every mtime the source date, the expected files', () => {
    const hasMan = runCli(['man'], { binary: join(out, 'bin/linux-x64/sftpgo') }).code !== 2;
    for (const name of Object.values(NAMES)) {
      const r = spawnSync('tar', ['-tvzf', join(out, `${name}.tar.gz`), '--numeric-owner', '--full-time'], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } });
      expect(r.status).toBe(0);
      const rows = r.stdout.trimEnd().split('\n').map((l) => l.split(/\s+/));
      const paths = rows.map((c) => c[5]!);
      expect(paths[0]).toBe(`${name}/`);
      expect(paths.every((p) => p.startsWith(`${name}/`))).toBe(true);
      expect(paths).toEqual([...paths].sort());
      for (const c of rows) {
        expect(c[1]).toBe('0/0');
        expect(`${c[3]} ${c[4]}`).toBe('2023-11-14 22:13:20');
        expect(c[0]).toBe(c[0]!.startsWith('d') ? 'drwxr-xr-x' : c[5] === `${name}/sftpgo` ? '-rwxr-xr-x' : '-rw-r--r--');
      }
      for (const f of ['sftpgo', 'README.md', 'sftpgo.schema.json', 'examples/quickstart.yaml', 'examples/full.yaml', 'fail2ban/filter.d/sftpgo.conf']) {
        expect(paths).toContain(`${name}/${f}`);
      }
      expect(paths.includes(`${name}/LICENSE`)).toBe(existsSync(join(ROOT, 'LICENSE')));
      expect(paths.includes(`${name}/systemd/sftpgo.service`)).toBe(existsSync(join(ROOT, 'packaging/linux/sftpgo.service')));
      expect(paths.includes(`${name}/man/man1/sftpgo.1`)).toBe(hasMan);
      expect(paths.some((p) => p.endsWith('.map'))).toBe(false);
    }
  });

  test('building again from the same tree gives byte-identical binaries and archives', () => {
    const digests = () => [
      ...Object.values(NAMES).map((n) => readFileSync(join(out, `${n}.tar.gz.sha256`), 'utf8')),
      ...['x64', 'arm64'].map((a) => sha256(readFileSync(join(out, `bin/linux-${a}/sftpgo`)))),
    ];
    const before = digests();
    packageStages('binaries,archives');
    expect(digests()).toEqual(before);
  }, 120_000);

  test('each binary and every native addon inside it is built for the arch in the archive name', () => {
    const require = createRequire(join(ROOT, 'package.json'));
    const pkgDir = (pkg: string, chain: string[] = []) => {
      let from = require;
      for (const c of chain) from = createRequire(from.resolve(`${c}/package.json`));
      return dirname(from.resolve(`${pkg}/package.json`));
    };
    const sodium = (arch: string) => readFileSync(join(pkgDir('sodium-native'), 'prebuilds', `linux-${arch}`, 'sodium-native.node'));
    const expected = {
      x64: [
        readFileSync(join(pkgDir('@lmdb/lmdb-linux-x64', ['lmdb']), 'node.napi.glibc.node')),
        readFileSync(join(pkgDir('@msgpackr-extract/msgpackr-extract-linux-x64', ['lmdb', 'msgpackr', 'msgpackr-extract']), 'node.napi.glibc.node')),
        sodium('x64'),
      ],
      // from the cross-build cache the package run filled from npm; msgpackr-extract has no arm64 glibc build
      arm64: [readFileSync(join(ROOT, 'dist/cache/linux-arm64/node_modules/@lmdb/lmdb-linux-arm64/node.napi.glibc.node')), sodium('arm64')],
    };
    for (const [arch, machine] of [['x64', EM_X86_64], ['arm64', EM_AARCH64]] as const) {
      const binary = readFileSync(extract(join(out, `${NAMES[arch]}.tar.gz`), `${NAMES[arch]}/sftpgo`));
      expect(elfHeader(binary)?.machine).toBe(machine);
      const addons = embeddedSharedObjects(binary);
      expect(addons.map((a) => a.machine)).toEqual(addons.map(() => machine));
      expect(addons.map((a) => sha256(binary.subarray(a.offset, a.offset + a.size))).sort()).toEqual(expected[arch].map(sha256).sort());
    }
  });

  test('the binary for the other arch, from its archive, runs under qemu-user: libsodium loads and it serves a real sftp login', async () => {
    const other = process.arch === 'arm64' ? 'x64' : 'arm64';
    const [qemu, sysroot] = other === 'arm64' ? ['qemu-aarch64', '/usr/aarch64-linux-gnu'] : ['qemu-x86_64', '/usr/x86_64-linux-gnu'];
    const binary = extract(join(out, `${NAMES[other]}.tar.gz`), `${NAMES[other]}/sftpgo`);
    const dir = tempDir('sftpgo-qemu-');
    // qemu-user without binfmt cannot execve the foreign binary, which serve does once to set this
    // allocator variable: setting it up front skips that re-exec
    const wrapper = join(dir, 'sftpgo-qemu.sh');
    writeFileSync(wrapper, `#!/bin/sh\nMIMALLOC_PURGE_DELAY=-1 exec ${qemu} -L ${sysroot} "${binary}" "$@"\n`, { mode: 0o755 });
    const v = runCli(['version', '--verbose'], { binary: wrapper, timeoutMs: 120_000 });
    expect(v.stdout).toContain(`sftpgo ${VERSION} (bun `);
    expect(v.stdout).toContain('\nssh chacha20-poly1305: sodium\n');
    const port = await freePort();
    writeFileSync(join(dir, 'sftpgo.yaml'), `sftpd:\n  bindings: [{ address: 127.0.0.1, port: ${port} }]\nusers:\n  - { username: ana, password: ana-pw, home_dir: ${dir}/home/ana }\n`);
    const s = await startServer({ binary: wrapper, cwd: dir, extraArgs: ['--config', 'sftpgo.yaml'], timeoutMs: 120_000 });
    try {
      const login = spawnSync(
        'sshpass',
        ['-p', 'ana-pw', 'sftp', '-o', 'BatchMode=no', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-P', String(port), '-b', '-', 'ana@127.0.0.1'],
        { input: `put ${join(ROOT, 'package.json')} package.json\n`, encoding: 'utf8' },
      );
      expect(login.status).toBe(0);
      expect(readFileSync(join(dir, 'home/ana/package.json')).equals(readFileSync(join(ROOT, 'package.json')))).toBe(true);
    } finally {
      expect(await s.stop()).toBe(0);
    }
  }, 180_000);

  test('the README commands unpack the x64 archive in an empty dir; its binary validates and serves a real sftp login', async () => {
    const dir = tempDir('sftpgo-release-');
    for (const f of [`${NAMES.x64}.tar.gz`, `${NAMES.x64}.tar.gz.sha256`]) copyFileSync(join(out, f), join(dir, f));
    const r = runReadmeCommands({ heading: '### Release archive', cwd: dir });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`${NAMES.x64}.tar.gz: OK\n`);
    expect(r.stdout).toContain(`sftpgo ${VERSION} (bun `);
    expect(r.stdout).toContain('valid (1 users');

    const home = join(dir, NAMES.x64);
    const port = await freePort();
    writeFileSync(join(dir, 'sftpgo.yaml'), `sftpd:\n  bindings: [{ address: 127.0.0.1, port: ${port} }]\nusers:\n  - { username: rita, password: rita-pw, home_dir: ${dir}/home/rita }\n`);
    const s = await startServer({ binary: join(home, 'sftpgo'), cwd: dir, extraArgs: ['--config', 'sftpgo.yaml'] });
    try {
      const login = spawnSync(
        'sshpass',
        ['-p', 'rita-pw', 'sftp', '-o', 'BatchMode=no', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-P', String(port), '-b', '-', 'rita@127.0.0.1'],
        { input: `put ${join(home, 'README.md')} readme.md\nls -l\n`, encoding: 'utf8' },
      );
      expect(login.status).toBe(0);
      expect(login.stdout).toContain('readme.md');
      expect(readFileSync(join(dir, 'home/rita/readme.md')).equals(readFileSync(join(ROOT, 'README.md')))).toBe(true);
    } finally {
      expect(await s.stop()).toBe(0);
    }
  });
});
