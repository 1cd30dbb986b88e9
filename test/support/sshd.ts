// Starts a real OpenSSH sshd for tests: its own config, host key and authorized_keys in a temp dir,
// listening on a free loopback port, polled for readiness by reading its banner. It logs in the
// current user (root in CI) by key; with `password`, sshd runs in a private mount namespace where a
// one-line /etc/shadow carrying that password is bind-mounted, so nothing on the host changes.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { freePort } from './net.ts';
import { tempDir } from './tmp.ts';

export interface SshdOptions {
  /** Enables password authentication for the current user with this password (needs `unshare`). */
  password?: string;
  /** A passphrase for the generated client key. */
  keyPassphrase?: string;
  /** More sshd_config lines (say, `Ciphers chacha20-poly1305@openssh.com`). */
  extraConfig?: string[];
}

export interface Sshd {
  readonly host: string;
  readonly port: number;
  /** "127.0.0.1:PORT", as SFTPFsConfig.endpoint wants it. */
  readonly endpoint: string;
  readonly user: string;
  /** The temp dir holding config, keys and logs; tests may use it as scratch space too. */
  readonly dir: string;
  /** OpenSSH private key text authorized for `user`. */
  readonly clientKey: string;
  /** The host key's fingerprint as `ssh-keygen -lf` prints it: SHA256:base64-without-padding. */
  readonly hostFingerprint: string;
  /** What sshd wrote to stderr (last 64 KiB), for failure messages. */
  log(): string;
  /** Client connections currently served (one sshd child each). */
  connections(): number;
  /** Paths under `dir` that sshd's session processes hold open (SFTP handles left open). */
  openFiles(dir: string): string[];
  /** Kills the per-connection sshd processes (the listener keeps running): every session drops. */
  dropConnections(): Promise<void>;
  /** Stops and starts sshd again on the same port with the same keys. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

const SSHD = '/usr/sbin/sshd';

function keygen(path: string, passphrase = ''): void {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-C', 'sftpgo-test', '-f', path]);
}

/** Fingerprint of a public key line ("ssh-ed25519 AAAA... comment"), computed like ssh-keygen -l. */
export function fingerprintOf(publicKeyLine: string): string {
  const blob = Buffer.from(publicKeyLine.trim().split(/\s+/)[1]!, 'base64');
  return 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

/** Resolves once something on host:port sends an SSH banner; retries until `deadline`. */
async function waitForBanner(host: string, port: number, deadline: number, proc: ChildProcess): Promise<void> {
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`sshd exited (${proc.exitCode ?? proc.signalCode})`);
    const ok = await new Promise<boolean>((resolve) => {
      const sock = connect({ host, port });
      const done = (v: boolean): void => {
        sock.destroy();
        resolve(v);
      };
      sock.setTimeout(2000, () => done(false));
      sock.once('data', (d) => done(d.toString('latin1').startsWith('SSH-')));
      sock.once('error', () => done(false));
      sock.once('close', () => done(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`sshd did not answer on ${host}:${port}`);
    await new Promise((r) => setTimeout(r, 50)); // poll interval, not a readiness guess
  }
}

/** Direct children of `pid` (Linux /proc). */
function children(pid: number): number[] {
  let kids: number[] = [];
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const raw = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
      if (raw) kids = kids.concat(raw.split(/\s+/).map(Number));
    }
  } catch {
    // already gone
  }
  return kids;
}

/** All descendants of `pid`, deepest first. */
function descendants(pid: number): number[] {
  const out: number[] = [];
  const walk = (p: number): void => {
    for (const k of children(p)) {
      walk(k);
      out.push(k);
    }
  };
  walk(pid);
  return out;
}

function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already exited
  }
}

function waitExit(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => proc.once('exit', () => resolve()));
}

export async function startSshd(opts: SshdOptions = {}): Promise<Sshd> {
  const dir = tempDir('sftpgo-sshd-');
  const host = '127.0.0.1';
  const port = await freePort(host);
  // `id -un`, not os.userInfo(): Bun 1.4 reports "unknown" as the user name.
  const user = execFileSync('id', ['-un']).toString().trim();
  const hostKey = join(dir, 'ssh_host_ed25519_key');
  const clientKeyPath = join(dir, 'client_ed25519');
  keygen(hostKey);
  keygen(clientKeyPath, opts.keyPassphrase);
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(`${clientKeyPath}.pub`));
  const hostFingerprint = fingerprintOf(readFileSync(`${hostKey}.pub`, 'utf8'));
  // Privilege separation wants this directory; creating it is idempotent and harmless.
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });

  const config = [
    `ListenAddress ${host}:${port}`,
    `HostKey ${hostKey}`,
    `PidFile ${join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    'UsePAM no',
    'StrictModes no',
    'PermitRootLogin yes',
    'PubkeyAuthentication yes',
    `PasswordAuthentication ${opts.password ? 'yes' : 'no'}`,
    'KbdInteractiveAuthentication no',
    'UseDNS no',
    'PrintMotd no',
    'LogLevel INFO',
    'MaxStartups 50:30:100',
    'Subsystem sftp internal-sftp',
    ...(opts.extraConfig ?? []),
    '',
  ].join('\n');
  const configPath = join(dir, 'sshd_config');
  writeFileSync(configPath, config);

  let cmd = SSHD;
  let args = ['-D', '-e', '-f', configPath];
  if (opts.password) {
    const hash = execFileSync('openssl', ['passwd', '-6', '-stdin'], { input: opts.password }).toString().trim();
    const shadow = join(dir, 'shadow');
    writeFileSync(shadow, `${user}:${hash}:19000:0:99999:7:::\n`, { mode: 0o600 });
    // --propagation private keeps the bind mount inside the new namespace; exec makes sshd the PID we hold.
    cmd = 'unshare';
    args = ['-m', '--propagation', 'private', 'sh', '-c', 'mount --bind "$1" /etc/shadow && exec "$2" -D -e -f "$3"', 'sh', shadow, SSHD, configPath];
  }

  let stderr = '';
  let proc: ChildProcess | undefined;
  const running = (): number | undefined => (proc && proc.exitCode === null && proc.signalCode === null ? proc.pid : undefined);
  const stopProc = async (): Promise<void> => {
    const pid = running();
    if (pid === undefined) return;
    const kids = descendants(pid);
    killQuietly(pid, 'SIGTERM');
    for (const k of kids) killQuietly(k, 'SIGKILL');
    await waitExit(proc!);
  };
  // If the test process dies without stop(), sshd must not outlive it (it would hold the port).
  const onExit = (): void => {
    const pid = running();
    if (pid === undefined) return;
    for (const k of descendants(pid)) killQuietly(k, 'SIGKILL');
    killQuietly(pid, 'SIGKILL');
  };
  process.once('exit', onExit);
  const launch = async (): Promise<void> => {
    const p = (proc = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] }));
    p.stderr!.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-65536);
    });
    try {
      await waitForBanner(host, port, Date.now() + 20_000, p);
    } catch (err) {
      await stopProc();
      process.removeListener('exit', onExit);
      throw new Error(`${(err as Error).message}\n${stderr}`);
    }
  };
  await launch();

  return {
    host,
    port,
    endpoint: `${host}:${port}`,
    user,
    dir,
    clientKey: readFileSync(clientKeyPath, 'utf8'),
    hostFingerprint,
    log: () => stderr,
    connections: () => {
      const pid = running();
      return pid === undefined ? 0 : children(pid).length;
    },
    openFiles(under: string) {
      const out: string[] = [];
      const master = running();
      for (const pid of master === undefined ? [] : descendants(master)) {
        let fds: string[] = [];
        try {
          fds = readdirSync(`/proc/${pid}/fd`);
        } catch {
          continue;
        }
        for (const fd of fds) {
          try {
            const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
            if (target.startsWith(under)) out.push(target);
          } catch {
            // closed meanwhile
          }
        }
      }
      return out;
    },
    async dropConnections() {
      const pid = running();
      if (pid === undefined) return;
      for (const k of descendants(pid)) killQuietly(k, 'SIGKILL');
    },
    async restart() {
      await stopProc();
      await launch();
    },
    async stop() {
      await stopProc();
      process.removeListener('exit', onExit);
    },
  };
}
