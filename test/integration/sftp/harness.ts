// Shared setup for the SFTP/SCP integration tests: a server started from YAML the real way (a child
// `serve` process), users with generated client keys, and thin wrappers around the OpenSSH clients.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../support/net.ts';
import { run, type RunResult } from '../../support/run.ts';
import { startServer, type RunningServer } from '../../support/server.ts';
import { tempDir } from '../../support/tmp.ts';
import { Client } from '../../../src/lib/ssh2.ts';
import type { SFTPWrapper } from '../../../src/lib/ssh2.ts';
import { TEST_SECRETS } from '../../support/secrets.ts';

export const PASSWORD = TEST_SECRETS.userPassword;

export interface TestUser {
  username: string;
  home: string;
  keyPath: string;
}

export interface Sftpd {
  server: RunningServer;
  port: number;
  dir: string;
  users: Record<string, TestUser>;
}

export interface UserSpec {
  username: string;
  extra?: string;
  permissions?: Record<string, string[]>;
}

export async function startSftpd(users: UserSpec[], extraConfig = ''): Promise<Sftpd> {
  const dir = tempDir('sftp-it-');
  const port = await freePort();
  const out: Record<string, TestUser> = {};
  const userYaml = users
    .map((u) => {
      const home = join(dir, 'homes', u.username);
      mkdirSync(home, { recursive: true });
      const keyPath = join(dir, `key_${u.username}`);
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', keyPath]);
      out[u.username] = { username: u.username, home, keyPath };
      const pub = readFileSync(`${keyPath}.pub`, 'utf8').trim();
      const perms = u.permissions ?? { '/': ['*'] };
      const permYaml = Object.entries(perms)
        .map(([p, list]) => `      "${p}": [${list.map((x) => `"${x}"`).join(', ')}]`)
        .join('\n');
      return `  - username: ${u.username}\n    password: "${PASSWORD}"\n    home_dir: ${home}\n    public_keys: ["${pub}"]\n    permissions:\n${permYaml}\n${u.extra ?? ''}`;
    })
    .join('\n');
  const yaml = `sftpd:\n  bindings:\n    - address: 127.0.0.1\n      port: ${port}\n${extraConfig}\nusers:\n${userYaml}\n`;
  const server = await startServer({ yaml, cwd: dir, env: { SFTPGO_LOG_LEVEL: 'debug' } });
  return { server, port, dir, users: out };
}

const SSH_OPTS = ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-F', '/dev/null'];

export type { RunResult };

function authArgs(s: Sftpd, user: string, auth: 'password' | 'key'): { pre: string[]; args: string[] } {
  if (auth === 'key')
    return { pre: [], args: ['-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-o', 'PasswordAuthentication=no', '-i', s.users[user]!.keyPath] };
  return { pre: ['sshpass', '-p', PASSWORD], args: ['-o', 'BatchMode=no', '-o', 'PubkeyAuthentication=no', '-o', 'NumberOfPasswordPrompts=1'] };
}

/** Runs an `sftp -b` batch (lines) as `user`. A leading "-" on a line lets it fail. */
/** `sshArgs` go to sftp(1) before the destination (say `['-c', 'aes128-gcm@openssh.com']`). */
export function sftpBatch(s: Sftpd, user: string, lines: string[], opts: { auth?: 'password' | 'key'; cwd?: string; sshArgs?: string[] } = {}): Promise<RunResult> {
  const batch = join(tempDir('sftp-batch-'), 'batch');
  writeFileSync(batch, lines.join('\n') + '\n');
  const { pre, args } = authArgs(s, user, opts.auth ?? 'password');
  const argv = [...pre, 'sftp', ...SSH_OPTS, ...args, ...(opts.sshArgs ?? []), '-P', String(s.port), '-b', batch, `${user}@127.0.0.1`];
  return run(argv[0]!, argv.slice(1));
}

export function scp(s: Sftpd, user: string, scpArgs: string[], auth: 'password' | 'key' = 'key'): Promise<RunResult> {
  const { pre, args } = authArgs(s, user, auth);
  const argv = [...pre, 'scp', '-O', ...SSH_OPTS, ...args, '-P', String(s.port), ...scpArgs];
  return run(argv[0]!, argv.slice(1));
}

/** `scp` in its default mode since OpenSSH 9.0: SFTP underneath, writing the target in place. */
export function scpOverSftp(s: Sftpd, user: string, scpArgs: string[]): Promise<RunResult> {
  const { pre, args } = authArgs(s, user, 'key');
  const argv = [...pre, 'scp', ...SSH_OPTS, ...args, '-P', String(s.port), ...scpArgs];
  return run(argv[0]!, argv.slice(1));
}

export function ssh(s: Sftpd, user: string, command: string[], opts: { tty?: boolean; input?: string } = {}): Promise<RunResult> {
  const { pre, args } = authArgs(s, user, 'key');
  const argv = [...pre, 'ssh', ...SSH_OPTS, ...args, ...(opts.tty ? ['-tt'] : ['-T']), '-p', String(s.port), `${user}@127.0.0.1`, ...command];
  return run(argv[0]!, argv.slice(1), { ...(opts.input !== undefined ? { input: opts.input } : {}), timeout: 20_000 });
}

export function remote(s: Sftpd, user: string): string {
  return `${user}@127.0.0.1`;
}

/** An ssh2 client SFTP session (for exact status codes and offsets). */
export async function sftpClient(s: Sftpd, user: string, password = PASSWORD): Promise<{ sftp: SFTPWrapper; end: () => void }> {
  const client = new Client();
  await new Promise<void>((resolve, reject) => {
    client.once('ready', () => resolve());
    client.once('error', reject);
    client.connect({ host: '127.0.0.1', port: s.port, username: user, password, readyTimeout: 10_000 });
  });
  const sftp = await new Promise<SFTPWrapper>((resolve, reject) => client.sftp((err, w) => (err ? reject(err) : resolve(w))));
  return { sftp, end: () => client.end() };
}

/** Writes `data` to `path` with the ssh2 client (sequential writes); resolves to the upload's error, if any. */
export async function sftpUpload(s: Sftpd, user: string, path: string, data: Buffer): Promise<(Error & { code?: number }) | undefined> {
  const c = await sftpClient(s, user);
  try {
    return await new Promise((resolve) => {
      const w = c.sftp.createWriteStream(path);
      w.once('error', (e: Error) => resolve(e));
      w.once('close', () => resolve(undefined));
      w.end(data);
    });
  } finally {
    c.end();
  }
}

/** Tries a login with ssh2 and reports whether it succeeded. */
export function canLogin(s: Sftpd, user: string, password = PASSWORD): Promise<boolean> {
  const client = new Client();
  return new Promise((resolve) => {
    client.once('ready', () => (client.end(), resolve(true)));
    client.once('error', () => resolve(false));
    client.connect({ host: '127.0.0.1', port: s.port, username: user, password, readyTimeout: 10_000 });
  });
}

/** Promisified ssh2 SFTP call that resolves to the error code (0 on success). */
export function code(fn: (cb: (err: (Error & { code?: number }) | null | undefined) => void) => void): Promise<number> {
  return new Promise((resolve) => fn((err) => resolve(err ? (err.code ?? -1) : 0)));
}

