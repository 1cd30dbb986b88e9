// The .deb and .rpm built by packaging/linux/build.ts: lintian and rpm's own queries accept them,
// the unit verifies, and the .deb installs on this machine (the user and dirs appear, the installed
// binary serves SFTP as the sftpgo user to the real OpenSSH client and reloads on SIGHUP), is
// removed keeping the data, then purged leaving nothing. The .rpm's binary is extracted with
// rpm2cpio (installing an rpm on Debian would fight dpkg) and serves too.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { runCli } from '../../support/cli.ts';
import { freePort } from '../../support/net.ts';
import { buildPackages } from '../../support/linux-packages.ts';
import { BUN, ROOT, startServer, type RunningServer } from '../../support/server.ts';
import { sftpBatchSync } from '../../support/sftp-batch.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';

afterAll(removeTempDirs);

const PKG = 'sftpgo-ts';
// What the package creates; none of it may exist before the test installs it, or purge would delete
// someone else's install or data.
const OWNED = ['/usr/bin/sftpgo', '/etc/sftpgo', '/var/lib/sftpgo', '/var/cache/sftpgo', '/var/log/sftpgo'];

// The release stage xz-compresses a ~130 MB binary: about a minute on 2 idle cores, several when
// the machine is busy.
function sh(cmd: string, args: string[], opts: { cwd?: string } = {}): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { encoding: 'utf8', timeout: 540_000, ...opts });
}

function ok(cmd: string, args: string[], opts: { cwd?: string } = {}): string {
  const r = sh(cmd, args, opts);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

let binary = '';
let deb = '';
let rpm = '';
let outDir = '';
/** Whether this build of the binary has `sftpgo man` and `sftpgo completion`: then both packages must ship them. */
let hasMan = false;
let hasCompletion = false;

beforeAll(() => {
  for (const tool of ['dpkg-deb', 'rpmbuild', 'rpm2cpio', 'cpio', 'lintian', 'systemd-analyze', 'runuser', 'sshpass', 'sftp'])
    if (sh('sh', ['-c', `command -v ${tool}`]).status !== 0) throw new Error(`${tool} is missing: run scripts/install-test-deps.sh`);
  const built = buildPackages();
  ({ binary, outDir } = built);
  deb = built.deb ?? '';
  rpm = built.rpm ?? '';
  hasMan = runCli(['man'], { binary }).code === 0;
  hasCompletion = runCli(['completion', 'bash'], { binary }).code === 0;
  expect(readdirSync(outDir).sort()).toEqual([`${PKG}-0.1.0-1.x86_64.rpm`, `${PKG}_0.1.0-1_amd64.deb`]);
}, 400_000);

describe('the .deb', () => {
  test('its control data: name, amd64, libc6 floor, adduser, the config as a conffile', () => {
    const field = (f: string) => ok('dpkg-deb', ['-f', deb, f]).trim();
    expect(field('Package')).toBe(PKG);
    expect(field('Architecture')).toBe('amd64');
    expect(field('Depends')).toMatch(/^libc6 \(>= 2\.\d+\), adduser$/);
    expect(field('Conflicts')).toBe('sftpgo');
    expect(ok('dpkg-deb', ['-I', deb, 'conffiles'])).toBe('/etc/sftpgo/sftpgo.yaml\n');
  });

  test('holds every file, root-owned, with the binary byte for byte', () => {
    const listing = ok('dpkg-deb', ['-c', deb]);
    const files = listing.split('\n').filter(Boolean).map((l) => l.split(/\s+/));
    for (const f of files) expect(f[1]).toBe('root/root');
    const paths = files.map((f) => f[5]);
    for (const p of [
      './usr/bin/sftpgo',
      './etc/sftpgo/sftpgo.yaml',
      './lib/systemd/system/sftpgo.service',
      './usr/share/doc/sftpgo-ts/copyright',
      './usr/share/doc/sftpgo-ts/changelog.Debian.gz',
      './usr/share/doc/sftpgo-ts/examples/bind-low-ports.conf',
      ...(hasMan ? ['./usr/share/man/man1/sftpgo.1.gz'] : []),
      ...(hasCompletion
        ? ['./usr/share/bash-completion/completions/sftpgo', './usr/share/zsh/vendor-completions/_sftpgo', './usr/share/fish/vendor_completions.d/sftpgo.fish']
        : []),
    ])
      expect(paths).toContain(p);
    const x = tempDir('sftpgo-debx-');
    ok('dpkg-deb', ['-x', deb, x]);
    expect(sha256(join(x, 'usr/bin/sftpgo'))).toBe(sha256(binary));
  });

  test('lintian finds no error', () => {
    const r = sh('lintian', ['--pedantic', deb]);
    expect(r.stdout).not.toMatch(/^E: /m);
    expect(r.status).toBe(0);
  }, 240_000);
});

describe('the .rpm', () => {
  const q = (...args: string[]) => ok('rpm', ['-qp', ...args, rpm]);

  test('lists the binary, the config, the unit, the docs and the state dirs', () => {
    const files = q('-l').split('\n');
    for (const p of [
      '/usr/bin/sftpgo',
      '/etc/sftpgo/sftpgo.yaml',
      '/usr/lib/systemd/system/sftpgo.service',
      '/usr/share/doc/sftpgo-ts/copyright',
      '/var/lib/sftpgo',
      ...(hasMan ? ['/usr/share/man/man1/sftpgo.1.gz'] : []),
      ...(hasCompletion
        ? ['/usr/share/bash-completion/completions/sftpgo', '/usr/share/zsh/vendor-completions/_sftpgo', '/usr/share/fish/vendor_completions.d/sftpgo.fish']
        : []),
    ])
      expect(files).toContain(p);
    expect(q('--qf', '%{NAME} %{VERSION} %{RELEASE} %{ARCH}')).toBe(`${PKG} 0.1.0 1 x86_64`);
    expect(q('-c')).toBe('/etc/sftpgo/sftpgo.yaml\n');
    // %config(noreplace): an edited config survives upgrades
    expect(q('--qf', '[%{FILENAMES} %{FILEFLAGS:fflags}\n]')).toContain('/etc/sftpgo/sftpgo.yaml cn');
    expect(q('-R')).toMatch(/^glibc >= 2\.\d+$/m);
  });

  test('creates the user before unpacking and never stops a running service on upgrade', () => {
    const scripts = q('--scripts');
    expect(scripts).toMatch(/preinstall scriptlet[^\n]*\n[^]*getent passwd sftpgo >\/dev\/null \|\| useradd -r /);
    expect(scripts).toMatch(/preuninstall scriptlet[^\n]*\nif \[ "\$1" -eq 0 \]/);
  });

  test('its binary, extracted with rpm2cpio, is the built one and serves SFTP', async () => {
    const x = tempDir('sftpgo-rpmx-');
    const r = spawnSync('sh', ['-c', `rpm2cpio '${rpm}' | cpio -idm --quiet`], { cwd: x, encoding: 'utf8' });
    expect(r.status).toBe(0);
    const extracted = join(x, 'usr/bin/sftpgo');
    expect(sha256(extracted)).toBe(sha256(binary));
    const port = await freePort();
    const s = await startServer({
      binary: extracted,
      yaml: `sftpd:\n  bindings: [{ address: 127.0.0.1, port: ${port} }]\nusers:\n  - { username: alice, password: pw-alice, home_dir: ${x}/home/alice, permissions: { "/": ["*"] } }\n`,
    });
    try {
      writeFileSync(join(x, 'hello.txt'), 'from the rpm\n');
      const b = sftpBatchSync({ port, user: 'alice', password: 'pw-alice', dir: x, lines: [`put ${x}/hello.txt`, 'ls'] });
      expect(b.status).toBe(0);
      expect(readFileSync(join(x, 'home/alice/hello.txt'), 'utf8')).toBe('from the rpm\n');
    } finally {
      await s.stop();
    }
  }, 60_000);
});

describe('installing the .deb on this machine', () => {
  test('systemd-analyze verify accepts the unit, the binary serves as the sftpgo user, remove keeps the data, purge leaves nothing', async () => {
    // Never touch an install or data that is not this test's.
    const installed = sh('dpkg-query', ['-W', '-f', '${Status}', PKG]);
    if (installed.status === 0 && installed.stdout.includes('installed'))
      throw new Error(`${PKG} is already installed on this machine; this test installs and purges it, so remove it first`);
    const present = [...OWNED.filter((p) => existsSync(p)), ...(sh('getent', ['passwd', 'sftpgo']).status === 0 ? ['the user sftpgo'] : [])];
    if (present.length > 0) throw new Error(`refusing to install over existing state (${present.join(', ')}): purging the package would delete it`);

    // The commands of the README's "Debian and Ubuntu" section, as root
    ok('apt-get', ['install', '-y', '-q', '-o', 'DPkg::Lock::Timeout=120', `./${deb.split('/').pop()}`], { cwd: outDir });
    try {
      const passwd = ok('getent', ['passwd', 'sftpgo']).trim().split(':');
      expect(Number(passwd[2])).toBeLessThan(1000);
      expect(passwd[5]).toBe('/var/lib/sftpgo');
      expect(passwd[6]).toBe('/usr/sbin/nologin');
      for (const dir of ['/var/lib/sftpgo', '/var/cache/sftpgo', '/var/log/sftpgo'])
        expect(ok('stat', ['-c', '%U:%G %a', dir]).trim()).toBe('sftpgo:sftpgo 750');
      expect(ok('stat', ['-c', '%U:%G %a', '/etc/sftpgo']).trim()).toBe('root:sftpgo 750');
      expect(ok('stat', ['-c', '%U:%G %a', '/etc/sftpgo/sftpgo.yaml']).trim()).toBe('root:sftpgo 640');
      expect(ok('/usr/bin/sftpgo', ['validate', '--config', '/etc/sftpgo/sftpgo.yaml'])).toContain('valid (0 users');

      // No systemd runs as PID 1 here: verify the installed unit offline (man page check only once
      // the package ships one).
      const verify = sh('systemd-analyze', ['verify', ...(hasMan ? [] : ['--man=no']), '/lib/systemd/system/sftpgo.service']);
      expect(verify.stderr).toBe('');
      expect(verify.status).toBe(0);

      await serveAsServiceUser();

      ok('apt-get', ['remove', '-y', '-q', '-o', 'DPkg::Lock::Timeout=120', PKG]);
      expect(existsSync('/usr/bin/sftpgo')).toBe(false);
      expect(existsSync('/var/lib/sftpgo/users/alice/hello.txt')).toBe(true);
      expect(existsSync('/etc/sftpgo/sftpgo.yaml')).toBe(true);
      expect(sh('getent', ['passwd', 'sftpgo']).status).toBe(0);
    } finally {
      ok('apt-get', ['purge', '-y', '-q', '-o', 'DPkg::Lock::Timeout=120', PKG]);
    }
    for (const p of [...OWNED, '/etc/systemd/system/multi-user.target.wants/sftpgo.service']) expect(existsSync(p)).toBe(false);
    expect(sh('getent', ['passwd', 'sftpgo']).status).not.toBe(0);
    expect(sh('getent', ['group', 'sftpgo']).status).not.toBe(0);
    expect(ok('dpkg-statoverride', ['--list'])).not.toContain('sftpgo');
    expect(sh('dpkg-query', ['-W', PKG]).status).not.toBe(0);
  }, 240_000);
});

/**
 * Runs the installed /usr/bin/sftpgo as systemd would (the sftpgo user, the unit's TMPDIR and data
 * dir), logs in with OpenSSH's sftp, then adds a user to the config and reloads with SIGHUP.
 */
async function serveAsServiceUser(): Promise<void> {
  // The service user must reach the wrapper and its config (written 0644): a world-readable dir.
  const dir = tempDir('sftpgo-svc-');
  chmodSync(dir, 0o755);
  const unit = readFileSync('/lib/systemd/system/sftpgo.service', 'utf8');
  const tmpdir = /^Environment=TMPDIR=(.*)$/m.exec(unit)?.[1];
  expect(tmpdir).toBe('/var/cache/sftpgo');
  const wrapper = join(dir, 'as-service');
  writeFileSync(wrapper, `#!/bin/sh\nexec runuser -u sftpgo -- env TMPDIR=${tmpdir} /usr/bin/sftpgo "$@"\n`);
  chmodSync(wrapper, 0o755);
  const port = await freePort();
  const user = (name: string) => `  - { username: ${name}, password: pw-${name}, permissions: { "/": ["*"] } }\n`;
  const config = (users: string) => `sftpd:\n  bindings: [{ address: 127.0.0.1, port: ${port} }]\nusers:\n${users}`;
  let s: RunningServer | undefined;
  try {
    s = await startServer({ binary: wrapper, cwd: dir, dataDir: '/var/lib/sftpgo', yaml: config(user('alice')) });
    writeFileSync(join(dir, 'hello.txt'), 'hello\n');
    const put = sftpBatchSync({ port, user: 'alice', password: 'pw-alice', dir, lines: [`put ${dir}/hello.txt`, 'ls -l'] });
    expect(put.status).toBe(0);
    // users without home_dir live under the data dir, owned by the service user
    const home = '/var/lib/sftpgo/users/alice/hello.txt';
    expect(readFileSync(home, 'utf8')).toBe('hello\n');
    expect(ok('stat', ['-c', '%U', home]).trim()).toBe('sftpgo');
    // the unpacked native addons went to the unit's TMPDIR
    expect(readdirSync('/var/cache/sftpgo').some((f) => f.endsWith('.node'))).toBe(true);

    // ExecReload sends SIGHUP to the server (runuser's child)
    writeFileSync(s.configPath, config(user('alice') + user('bob')));
    const child = ok('pgrep', ['-P', String(s.proc.pid)]).trim();
    expect(statSync(`/proc/${child}`).uid).toBe(Number(ok('id', ['-u', 'sftpgo']).trim()));
    process.kill(Number(child), 'SIGHUP');
    await s.waitForLog((l) => l.event === 'reload_applied');
    expect(sftpBatchSync({ port, user: 'bob', password: 'pw-bob', dir, lines: ['ls'] }).status).toBe(0);
  } finally {
    await s?.stop();
  }
}

describe('an aarch64 binary', () => {
  test('gives an arm64 .deb and an aarch64 .rpm, with the binary unstripped', () => {
    // The same executable with the aarch64 machine number in its ELF header: the builder reads the
    // architecture from there (and cannot run the binary for its man page, so it leaves that out).
    const dir = tempDir('sftpgo-arm64-');
    const arm = join(dir, 'sftpgo');
    const bytes = readFileSync(binary);
    bytes.writeUInt16LE(0xb7, 18);
    writeFileSync(arm, bytes);
    chmodSync(arm, 0o755);
    const out = join(dir, 'out');
    ok(BUN, [join(ROOT, 'packaging/linux/build.ts'), '--binary', arm, '--out', out, '--fast'], { cwd: ROOT });
    expect(readdirSync(out).sort()).toEqual([`${PKG}-0.1.0-1.aarch64.rpm`, `${PKG}_0.1.0-1_arm64.deb`]);
    expect(ok('dpkg-deb', ['-f', join(out, `${PKG}_0.1.0-1_arm64.deb`), 'Architecture']).trim()).toBe('arm64');
    const rpmFile = join(out, `${PKG}-0.1.0-1.aarch64.rpm`);
    expect(ok('rpm', ['-qp', '--qf', '%{ARCH}', rpmFile])).toBe('aarch64');
    const x = join(dir, 'x');
    mkdirSync(x);
    expect(spawnSync('sh', ['-c', `rpm2cpio '${rpmFile}' | cpio -idm --quiet`], { cwd: x }).status).toBe(0);
    expect(sha256(join(x, 'usr/bin/sftpgo'))).toBe(sha256(arm));
  }, 240_000);
});

describe('the linux stage of npm run package', () => {
  test("packages the binaries stage's binary; the same commit gives the same bytes", () => {
    const out = tempDir('sftpgo-stage-');
    mkdirSync(join(out, 'bin/linux-x64'), { recursive: true });
    writeFileSync(join(out, 'bin/linux-x64/sftpgo'), readFileSync(binary));
    chmodSync(join(out, 'bin/linux-x64/sftpgo'), 0o755);
    ok(BUN, [join(ROOT, 'packaging/linux/stage.ts'), '--out', out, '--arch', 'x64'], { cwd: ROOT });
    // built from the same binary at the same commit date as the one built by build.ts above
    expect(sha256(join(out, basename(rpm)))).toBe(sha256(rpm));
    // the stage's .deb is xz-compressed, the test's gzip: the same files inside
    const files = (f: string) => ok('dpkg-deb', ['-c', f]);
    expect(files(join(out, basename(deb)))).toBe(files(deb));
    expect(ok('dpkg-deb', ['-I', join(out, basename(deb)), 'control'])).toBe(ok('dpkg-deb', ['-I', deb, 'control']));
  }, 600_000);
});
