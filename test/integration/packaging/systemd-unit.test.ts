// The packaged unit under a real systemd. No systemd runs as PID 1 on the test machine, so this
// boots one with systemd-nspawn on the machine's own root, overlaid with a tmpfs so that nothing
// the container writes (the package, its user, the services it starts) reaches the host, in its own
// network namespace so its listeners cannot meet the host's. Inside, the README's commands install
// the .deb, whose postinst enables and starts the service with every sandboxing option of the unit;
// it serves SFTP, reloads, drops all capabilities, binds a port below 1024 only with the example
// drop-in, and stops on removal.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { buildPackages } from '../../support/linux-packages.ts';
import { readmeCommands } from '../../support/readme-commands.ts';
import { keepLog, newLogFile } from '../../support/test-logs.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';

interface Container {
  nspawn: ChildProcess;
  exited: Promise<void>;
  pid1: number;
  root: string;
  upper: string;
}

let container: Container | undefined;
let deb = '';
let hostBefore = '';

/** What installing the package inside would change if it leaked out of the overlay. */
function hostState(): string {
  return [sh('dpkg-query', ['-W', 'sftpgo-ts']).stdout, sh('getent', ['passwd', 'sftpgo']).stdout, String(existsSync('/etc/sftpgo')), String(existsSync('/usr/bin/sftpgo'))].join('|');
}

function sh(cmd: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(cmd, args, { encoding: 'utf8', timeout: 120_000 });
}

/** Runs a shell command inside the container, as root, with a clean environment. */
function inside(script: string): { status: number | null; stdout: string; stderr: string } {
  return sh('nsenter', ['-t', String(container!.pid1), '-a', 'env', '-i', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'sh', '-c', script]);
}

function ok(script: string): string {
  const r = inside(script);
  if (r.status !== 0) throw new Error(`in the container: ${script}\nexited ${r.status}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(200);
  }
}

async function boot(packagesDir: string): Promise<Container> {
  const base = tempDir('sftpgo-nspawn-');
  const upper = join(base, 'upper');
  const root = join(base, 'root');
  mkdirSync(upper);
  mkdirSync(root);
  const mount = (args: string[]) => {
    const r = sh('mount', args);
    if (r.status !== 0) throw new Error(`mount ${args.join(' ')}: ${r.stderr}`);
  };
  // The upper layer on its own tmpfs: overlayfs refuses an upper dir inside its lower one.
  mount(['-t', 'tmpfs', '-o', 'size=2g', 'tmpfs', upper]);
  mkdirSync(join(upper, 'u'));
  mkdirSync(join(upper, 'w'));
  mount(['-t', 'overlay', 'overlay', '-o', `lowerdir=/,upperdir=${upper}/u,workdir=${upper}/w`, root]);
  // --keep-unit and --register=no: there is no systemd on the host to create a scope or register with
  const nspawn = spawn(
    'systemd-nspawn',
    ['-D', root, '--keep-unit', '--register=no', '--private-network', `--bind-ro=${packagesDir}:/pk`, `--machine=sftpgo-pkg-${process.pid}`, '-b'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let console = '';
  nspawn.stdout!.on('data', (d: Buffer) => (console += d.toString()));
  nspawn.stderr!.on('data', (d: Buffer) => (console += d.toString()));
  const exited = new Promise<void>((res) => nspawn.once('exit', () => res()));
  const pid1 = await waitFor('the container init', () => {
    if (nspawn.exitCode !== null) throw new Error(`systemd-nspawn exited ${nspawn.exitCode}:\n${console}`);
    const child = sh('pgrep', ['-P', String(nspawn.pid), '-x', 'systemd']).stdout.trim();
    return child ? Number(child) : undefined;
  });
  const c: Container = { nspawn, exited, pid1, root, upper };
  container = c;
  // "degraded" is fine: some of the host's services do not start in a container
  await waitFor('the container to finish booting', () => {
    const state = inside('systemctl is-system-running --wait').stdout.trim();
    return state === 'running' || state === 'degraded' ? state : undefined;
  }, 120_000);
  return c;
}

async function shutdown(c: Container): Promise<void> {
  c.nspawn.kill('SIGTERM'); // nspawn asks the container's systemd for an orderly poweroff
  await Promise.race([c.exited, Bun.sleep(60_000)]);
  if (c.nspawn.exitCode === null && c.nspawn.signalCode === null) {
    c.nspawn.kill('SIGKILL');
    await c.exited;
  }
  sh('umount', [c.root]);
  sh('umount', [c.upper]);
}

beforeAll(async () => {
  for (const tool of ['systemd-nspawn', 'nsenter', 'dpkg-deb'])
    if (sh('sh', ['-c', `command -v ${tool}`]).status !== 0) throw new Error(`${tool} is missing: run scripts/install-test-deps.sh`);
  hostBefore = hostState();
  deb = buildPackages({ formats: ['deb'] }).deb!;
  await boot(dirname(deb));
}, 400_000);

afterAll(async () => {
  // The service logs to the container's journal, which goes with the container: kept for the leak check
  if (container) keepLog(newLogFile('systemd-journal'), inside('journalctl -u sftpgo -o cat --no-pager').stdout);
  if (container) await shutdown(container);
  removeTempDirs();
}, 120_000);

const USER = `users:\n  - username: alice\n    password: pw-alice\n    permissions: { "/": ["*"] }\n`;
const SFTP = (port: number) =>
  `sshpass -p pw-alice sftp -o BatchMode=no -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -P ${port} -b /root/batch alice@127.0.0.1`;

describe('the unit under systemd', () => {
  test("the README's .deb commands install, start, validate and reload it, sandboxed, on the packaged config", () => {
    // A machine that never had the package: state some run left on the host is removed, in the overlay only
    ok('rm -rf /etc/sftpgo /var/lib/sftpgo /var/cache/sftpgo /var/log/sftpgo');
    // as the README says: as root, in the directory holding the package
    keepLog(newLogFile('readme'), ok(`set -e; cd /pk\n${readmeCommands('### Debian and Ubuntu (.deb)')}`));
    expect(inside('systemctl is-enabled sftpgo').stdout.trim()).toBe('enabled');
    // postinst starts it: wait for its listener rather than for time
    ok('for i in $(seq 100); do journalctl -u sftpgo -o cat | grep -q serve_ready && exit 0; sleep 0.2; done; exit 1');
    expect(inside('systemctl is-active sftpgo').stdout.trim()).toBe('active');
    expect(ok('journalctl -u sftpgo -o cat')).toContain('"event":"sftp_listening","address":"0.0.0.0","port":2022');
    const pid = ok('systemctl show -p MainPID --value sftpgo').trim();
    const status = ok(`cat /proc/${pid}/status`);
    expect(status).toMatch(/^CapEff:\s+0+$/m);
    expect(status).toMatch(/^CapBnd:\s+0+$/m);
    expect(status).toMatch(/^NoNewPrivs:\s+1$/m);
    expect(status).toMatch(/^Seccomp:\s+2$/m);
    expect(ok(`stat -c %U /proc/${pid}`).trim()).toBe('sftpgo');
    // the native addons were unpacked where the unit's TMPDIR points, not into the private /tmp
    expect(ok('ls -A /var/cache/sftpgo')).toMatch(/\.node$/m);
    // the system outside the state dirs is read-only to it
    expect(ok(`grep -E ' / ' /proc/${pid}/mountinfo`)).toMatch(/ ro[, ]/);
    // systemd's own rating of the sandbox (0 is the most locked down, 10 none at all)
    const exposure = /Overall exposure level for sftpgo\.service: ([\d.]+)/.exec(ok('systemd-analyze security --no-pager sftpgo'))?.[1];
    expect(Number(exposure)).toBeLessThan(2);
  }, 60_000);

  test('a user added to the config logs in after systemctl reload, and files land in the state dir', () => {
    ok(`cat >> /etc/sftpgo/sftpgo.yaml <<'EOF'\n${USER}EOF`);
    ok('systemctl reload sftpgo');
    ok('for i in $(seq 100); do journalctl -u sftpgo -o cat | grep -q reload_applied && exit 0; sleep 0.2; done; exit 1');
    ok(`head -c 3000000 /dev/urandom > /root/up.bin && printf 'put /root/up.bin\\nget up.bin /root/down.bin\\n' > /root/batch`);
    ok(SFTP(2022));
    ok('cmp /root/up.bin /root/down.bin');
    expect(ok('stat -c %U:%G /var/lib/sftpgo/users/alice/up.bin').trim()).toBe('sftpgo:sftpgo');
  }, 60_000);

  test('a port below 1024 needs the example drop-in, which grants only CAP_NET_BIND_SERVICE', () => {
    ok("sed -i 's/port: 2022/port: 990/' /etc/sftpgo/sftpgo.yaml");
    ok('systemctl restart sftpgo || true');
    ok('for i in $(seq 100); do journalctl -u sftpgo -o cat | grep -q "EACCES.*990" && exit 0; sleep 0.2; done; exit 1');
    ok('mkdir -p /etc/systemd/system/sftpgo.service.d && cp /usr/share/doc/sftpgo-ts/examples/bind-low-ports.conf /etc/systemd/system/sftpgo.service.d/');
    ok('systemctl daemon-reload && systemctl restart sftpgo');
    ok(`for i in $(seq 100); do ${SFTP(990)} >/dev/null 2>&1 && exit 0; sleep 0.2; done; exit 1`);
    const pid = ok('systemctl show -p MainPID --value sftpgo').trim();
    expect(ok(`cat /proc/${pid}/status`)).toMatch(/^CapEff:\s+0+400$/m);
    ok('rm /etc/systemd/system/sftpgo.service.d/bind-low-ports.conf && systemctl daemon-reload');
  }, 60_000);

  test('removing the package stops the service; purging removes its state and user', () => {
    ok('dpkg -r sftpgo-ts');
    expect(inside('systemctl is-active sftpgo').stdout.trim()).not.toBe('active');
    expect(inside('pgrep -u sftpgo').status).not.toBe(0);
    ok('dpkg --purge sftpgo-ts');
    expect(inside('getent passwd sftpgo').status).not.toBe(0);
    expect(inside('ls -d /etc/sftpgo /var/lib/sftpgo /var/cache/sftpgo /var/log/sftpgo 2>/dev/null').stdout).toBe('');
  }, 60_000);
});

test('nothing the container did reached the host', () => {
  expect(hostState()).toEqual(hostBefore);
});
