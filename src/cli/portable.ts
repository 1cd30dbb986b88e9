// `sftpgo portable`: serve one directory to one account at once, with no config file and nothing left
// behind. The flags become a config object in memory, checked by the same schema and semantic checks
// as a file, and served by the same `startServer` as `serve`; the store and the (ephemeral) host keys
// live in a temp dir that is removed when the server stops.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Command, Flags } from './command.ts';
import type { Config } from '../config/load.ts';

const NOT_LOCAL = 'portable mode serves a local directory only; declare other storage backends in a config file and run `sftpgo serve`';
const NO_TLS = 'portable mode serves plain FTP and WebDAV; for TLS write a config file and run `sftpgo serve`';

/** SFTPGo's portable flags that are not implemented here, with why. */
const REFUSED: Record<string, string> = {
  'fs-provider': NOT_LOCAL,
  '-f': NOT_LOCAL,
  'crypto-passphrase': NOT_LOCAL,
  'httpd-port': 'the web client is not part of this server',
  'httpd-cert': 'the web client is not part of this server',
  'httpd-key': 'the web client is not part of this server',
  'ftpd-cert': NO_TLS,
  'ftpd-key': NO_TLS,
  'webdav-cert': NO_TLS,
  'webdav-key': NO_TLS,
  'grace-time': 'a stop closes the connections at once',
  'log-utc-time': 'log times are always UTC',
  'config-dir': 'portable mode reads no config; use `sftpgo serve --config FILE` for one',
  '-c': 'portable mode reads no config; use `sftpgo serve --config FILE` for one',
  'config-file': 'portable mode reads no config; use `sftpgo serve --config FILE` for one',
  ...Object.fromEntries(
    [
      ...['bucket', 'region', 'access-key', 'access-secret', 'role-arn', 'endpoint', 'storage-class', 'acl', 'key-prefix', 'upload-part-size', 'upload-concurrency', 'force-path-style', 'skip-tls-verify'].map((f) => `s3-${f}`),
      ...['bucket', 'storage-class', 'key-prefix', 'credentials-file', 'automatic-credentials'].map((f) => `gcs-${f}`),
      ...['container', 'account-name', 'account-key', 'sas-url', 'endpoint', 'access-tier', 'key-prefix', 'upload-part-size', 'upload-concurrency', 'download-part-size', 'download-concurrency', 'use-emulator'].map((f) => `az-${f}`),
      ...['endpoint', 'username', 'password', 'key-path', 'fingerprints', 'prefix', 'disable-concurrent-reads', 'buffer-size'].map((f) => `sftp-${f}`),
    ].map((f) => [f, NOT_LOCAL]),
  ),
};

export const portableCommand: Command = {
  summary: 'serve one directory to one account, with no config file and nothing kept after it stops',
  usage: `sftpgo portable [--directory DIR] [--username NAME] [--password PW | --password-file FILE]
                [--public-key KEY ...] [--permissions LIST] [--sftpd-port N] [--ftpd-port N]
                [--webdav-port N] [--ssh-commands LIST] [--start-directory PATH]
                [--allowed-patterns DIR::PATTERNS] [--denied-patterns DIR::PATTERNS]
                [--log-level LEVEL] [--log-file-path FILE]

Serves DIR on every interface until SIGTERM, SIGINT or SIGHUP, and prints how to connect. The
store and the host keys (generated for this run) live in a temp dir removed at exit; only the
users' uploads are written into DIR. As SFTPGo's portable mode, except that only local
directories are served (its storage-backend, TLS and web client flags are refused).

  -d, --directory DIR        the directory to serve (default: the working directory)
  -u, --username NAME        the account's name (default: user)
  -p, --password PW          its password; with neither a password nor a public key, a random
                             one is generated and printed
      --password-file FILE   read the password from FILE
  -k, --public-key KEY       an authorized key (the key text, or a file of keys); repeatable
  -g, --permissions LIST     comma-separated permissions on / (default: list,download; * for all)
  -s, --sftpd-port N         SFTP/SCP port: 0 a random free port (default), below 0 disabled
      --ftpd-port N          FTP port: 0 a random free port, below 0 disabled (default: -1)
      --webdav-port N        WebDAV port: 0 a random free port, below 0 disabled (default: -1)
      --ssh-commands LIST    comma-separated SSH commands to allow ("*" for all; default: the
                             sftpd default)
      --start-directory PATH
                             where SFTP and FTP sessions start (a virtual path, default /)
      --allowed-patterns DIR::PATTERNS
                             only these names in DIR, e.g. "/pics::*.jpg,*.png"; repeatable
      --denied-patterns DIR::PATTERNS
                             refuse these names in DIR; repeatable
      --log-level LEVEL      debug, info (default), warn or error; JSON lines on stderr
  -l, --log-file-path FILE   also append the log lines to FILE`,
  options: {
    help: { type: 'boolean', short: 'h' },
    directory: { type: 'string', short: 'd' },
    username: { type: 'string', short: 'u' },
    password: { type: 'string', short: 'p' },
    'password-file': { type: 'string' },
    'public-key': { type: 'string', short: 'k', multiple: true },
    permissions: { type: 'string', short: 'g', multiple: true },
    'sftpd-port': { type: 'string', short: 's' },
    'ftpd-port': { type: 'string' },
    'webdav-port': { type: 'string' },
    'ssh-commands': { type: 'string', multiple: true },
    'start-directory': { type: 'string' },
    'allowed-patterns': { type: 'string', multiple: true },
    'denied-patterns': { type: 'string', multiple: true },
    'log-level': { type: 'string' },
    'log-file-path': { type: 'string', short: 'l' },
  },
  refused: REFUSED,
  run: runPortable,
};

class UsageError extends Error {}

interface Ports {
  sftp: number;
  ftp: number;
  webdav: number;
}

/** The account the flags describe: its config entry and the password to print (when generated). */
interface Account {
  user: NonNullable<Config['users']>[number];
  shownPassword?: string;
}

async function runPortable(flags: Flags): Promise<number> {
  let config: Config;
  let account: Account;
  let ports: Ports;
  try {
    ports = { sftp: port(flags, 'sftpd-port', 0), ftp: port(flags, 'ftpd-port', -1), webdav: port(flags, 'webdav-port', -1) };
    if (ports.sftp < 0 && ports.ftp < 0 && ports.webdav < 0) throw new UsageError('every protocol is disabled: give --sftpd-port, --ftpd-port or --webdav-port a port of 0 or more');
    account = accountOf(flags);
    for (const k of ['sftp', 'ftp', 'webdav'] as const) if (ports[k] === 0) ports[k] = await freePort();
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`portable: ${err.message}\n`);
    return 2;
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'sftpgo-portable-'));
  try {
    config = configOf({ flags, account, ports, dataDir });
    const { formatIssue, parseConfigText } = await import('../config/load.ts');
    const checked = parseConfigText(JSON.stringify(config), '<portable flags>', process.cwd());
    if (!checked.ok) {
      for (const issue of checked.issues) process.stderr.write(`portable: ${formatIssue(issue)}\n`);
      return 2;
    }
    const { serveUntilStopped, startServer } = await import('../serve/serve.ts');
    const starting = startServer({ loaded: checked.value, dataDir, flags: {} }).then((server) => {
      process.stdout.write(connectHelp(account, ports));
      return server;
    });
    return await serveUntilStopped(starting, { onHangup: 'stop' });
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function stringFlag(flags: Flags, name: string): string | undefined {
  const v = flags[name];
  return typeof v === 'string' ? v : undefined;
}

/** A repeatable flag whose values may also be comma-separated, as SFTPGo's string slices. */
function listFlag(flags: Flags, name: string): string[] | undefined {
  const v = flags[name];
  if (!Array.isArray(v)) return undefined;
  return v.flatMap((x) => String(x).split(',')).map((x) => x.trim()).filter((x) => x !== '');
}

function port(flags: Flags, name: string, fallback: number): number {
  const v = stringFlag(flags, name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n > 65535) throw new UsageError(`--${name} must be a port number (0 for a random one, below 0 to disable), not "${v}"`);
  return n < 0 ? -1 : n;
}

function accountOf(flags: Flags): Account {
  const username = stringFlag(flags, 'username') || 'user';
  let password = stringFlag(flags, 'password');
  const passwordFile = stringFlag(flags, 'password-file');
  if (password !== undefined && passwordFile !== undefined) throw new UsageError('give --password or --password-file, not both');
  if (passwordFile !== undefined) password = readText(passwordFile, 'password file').trim();
  const keys = (flags['public-key'] as string[] | undefined ?? []).flatMap(publicKeys);
  let shownPassword: string | undefined;
  if (!password && keys.length === 0) password = shownPassword = randomBytes(12).toString('base64url');
  const patterns = filePatterns(flags);
  const start = stringFlag(flags, 'start-directory');
  const filters = { ...(patterns.length ? { file_patterns: patterns } : {}), ...(start && start !== '/' ? { start_directory: start } : {}) };
  return {
    user: {
      username,
      ...(password ? { password } : {}),
      ...(keys.length ? { public_keys: keys } : {}),
      home_dir: resolve(stringFlag(flags, 'directory') ?? '.'),
      permissions: { '/': listFlag(flags, 'permissions') ?? ['list', 'download'] },
      ...(Object.keys(filters).length ? { filters } : {}),
    } as Account['user'],
    ...(shownPassword ? { shownPassword } : {}),
  };
}

/** `--public-key` takes the key itself (as SFTPGo) or a file of them (one a line, as authorized_keys). */
function publicKeys(value: string): string[] {
  if (/^(ssh-|ecdsa-|sk-)/.test(value.trim())) return [value.trim()];
  return readText(value, 'public key file')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

function readText(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read the ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** SFTPGo's `/dir::p1,p2` pattern flags, merged per directory. */
function filePatterns(flags: Flags): { path: string; allowed_patterns?: string[]; denied_patterns?: string[] }[] {
  const byDir = new Map<string, { path: string; allowed_patterns?: string[]; denied_patterns?: string[] }>();
  for (const [flag, key] of [['allowed-patterns', 'allowed_patterns'], ['denied-patterns', 'denied_patterns']] as const) {
    for (const value of (flags[flag] as string[] | undefined) ?? []) {
      const [dir, list] = value.split('::');
      const names = (list ?? '').split(',').map((p) => p.trim()).filter((p) => p !== '');
      if (!dir?.trim().startsWith('/') || names.length === 0) throw new UsageError(`--${flag} takes "/dir::pattern1,pattern2", not "${value}"`);
      const path = dir.trim();
      const entry = byDir.get(path) ?? { path };
      entry[key] = [...(entry[key] ?? []), ...names];
      byDir.set(path, entry);
    }
  }
  return [...byDir.values()];
}

function configOf(opts: { flags: Flags; account: Account; ports: Ports; dataDir: string }): Config {
  const { flags, account, ports, dataDir } = opts;
  const level = stringFlag(flags, 'log-level') ?? 'info';
  const logFile = stringFlag(flags, 'log-file-path');
  const sshCommands = listFlag(flags, 'ssh-commands');
  const config: Config = {
    data_provider: { data_dir: dataDir },
    log: { level: level as NonNullable<Config['log']>['level'], ...(logFile ? { file: resolve(logFile) } : {}) },
    users: [account.user],
  };
  if (ports.sftp > 0) config.sftpd = { bindings: [{ address: '', port: ports.sftp }], ...(sshCommands ? { enabled_ssh_commands: sshCommands } : {}) };
  if (ports.ftp > 0) config.ftpd = { bindings: [{ address: '', port: ports.ftp }] };
  if (ports.webdav > 0) config.webdavd = { bindings: [{ address: '', port: ports.webdav }] };
  return config;
}

/** A free TCP port on every interface, for a port given as 0. */
function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, () => {
      const { port } = s.address() as { port: number };
      s.close(() => ok(port));
    });
  });
}

/** What to print once listening: the account and one line per protocol to connect with. */
function connectHelp(account: Account, ports: Ports): string {
  const u = account.user;
  const auth = account.shownPassword
    ? `password: ${account.shownPassword}`
    : [u.password ? 'the given password' : '', u.public_keys?.length ? `${u.public_keys.length} public key(s)` : ''].filter(Boolean).join(' or ');
  const perms = (u.permissions as Record<string, string[]>)['/']!.join(', ');
  const name = encodeURIComponent(u.username);
  const lines = [`Serving ${u.home_dir} to user "${u.username}" (${auth}) with permissions: ${perms}`];
  if (ports.sftp > 0) lines.push(`SFTP:   sftp -P ${ports.sftp} ${u.username}@127.0.0.1`);
  if (ports.ftp > 0) lines.push(`FTP:    ftp://${name}@127.0.0.1:${ports.ftp}/`);
  if (ports.webdav > 0) lines.push(`WebDAV: http://${name}@127.0.0.1:${ports.webdav}/`);
  const others = Object.values(networkInterfaces())
    .flat()
    .filter((a) => a && !a.internal && a.family === 'IPv4')
    .map((a) => a!.address);
  if (others.length) lines.push(`Other machines reach it at ${others.join(', ')} instead of 127.0.0.1.`);
  lines.push('Stop with Ctrl-C (or SIGTERM); the store and host keys are removed then.');
  return lines.join('\n') + '\n';
}
