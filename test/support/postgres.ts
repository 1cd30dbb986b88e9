// Starts a real PostgreSQL server from Debian's packages for tests: its own cluster in a temp dir,
// listening on a free loopback port and a socket in that dir, a role with a password and a
// database of its own. As root, the server runs as the `postgres` user (initdb refuses root).
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './net.ts';
import { startServer, type RunningServer } from './server.ts';
import { tempDir } from './tmp.ts';
import { keepLog, newLogFile } from './test-logs.ts';

export interface Postgres {
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly password: string;
  /** The database made for the test. */
  readonly database: string;
  /** The cluster's directory (data and socket). */
  readonly dir: string;
  /** A `data_provider` section for this server, with the password literal. */
  provider(extra?: Record<string, unknown>): Record<string, unknown>;
  /**
   * The start of a YAML `data_provider` section for this server, the password read from
   * $PG_PASSWORD (give the server `env: { PG_PASSWORD: pg.password }`); more keys of the section
   * may follow it, indented by two spaces.
   */
  readonly providerYaml: string;
  /** Runs SQL as the superuser over the socket; returns psql's unaligned output. */
  sql(query: string, database?: string): string;
  /** Makes another empty database owned by the test role. */
  createDatabase(name: string): void;
  /** With `tls`: the CA, a client certificate for `certUser` (who may log in only with it), and more. */
  tls?: PostgresTls;
  stop(): Promise<void>;
}

/** The directory of PostgreSQL's server programs (the newest version installed). */
export function postgresBin(): string {
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base) ? readdirSync(base).filter((v) => existsSync(join(base, v, 'bin', 'initdb'))) : [];
  if (versions.length === 0) throw new Error('PostgreSQL is not installed (scripts/install-test-deps.sh installs it)');
  versions.sort((a, b) => Number(b) - Number(a));
  return join(base, versions[0]!, 'bin');
}

const asRoot = process.getuid?.() === 0;

function uidOf(user: string): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${user}:`));
  if (!line) throw new Error(`no ${user} user: is PostgreSQL installed?`);
  const f = line.split(':');
  return { uid: Number(f[2]), gid: Number(f[3]) };
}

/** Runs one of PostgreSQL's programs as the cluster's owner. */
function run(cmd: string, args: string[], opts: { input?: string } = {}): string {
  const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
  const r = spawnSync(file, argv, { input: opts.input, encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr || r.stdout}`);
  return r.stdout;
}

export interface PostgresTls {
  /** The CA that signed the server's and the client's certificates. */
  ca: string;
  clientCert: string;
  clientKey: string;
  /** The role that logs in by client certificate alone (its CN). */
  certUser: string;
  /** A CA that signed nothing here. */
  otherCa: string;
  /** Gives the server a new certificate for these subject names and reloads it. */
  reissue(names: string[]): void;
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: 'pipe' });
}

/** A CA and certificates it signs, with the real openssl CLI (EC P-256). */
function makeCa(dir: string, name: string): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', `/CN=${name}`]);
  return { cert, key };
}

function signed(dir: string, ca: { cert: string; key: string }, name: string, cn: string, names: string[]): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${cn}`]);
  writeFileSync(ext, names.length ? `subjectAltName=${names.join(',')}\n` : 'basicConstraints=CA:FALSE\n');
  openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-out', cert, '-days', '1', '-extfile', ext]);
  chmodSync(key, 0o600);
  return { cert, key };
}

export async function startPostgres(opts: { password?: string; tls?: boolean } = {}): Promise<Postgres> {
  const bin = postgresBin();
  const dir = tempDir('pg-');
  const data = join(dir, 'data');
  const password = opts.password ?? 'pg-Test-7c1e5';
  if (asRoot) {
    const { uid, gid } = uidOf('postgres');
    chownSync(dir, uid, gid);
  }
  chmodSync(dir, 0o700);
  run(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '--auth-host=scram-sha-256', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync']);
  const port = await freePort();
  // Loopback only, the socket in the test's dir, small memory, and no fsync: a test cluster.
  writeFileSync(
    join(data, 'postgresql.auto.conf'),
    [`listen_addresses = '127.0.0.1'`, `port = ${port}`, `unix_socket_directories = '${dir}'`, `fsync = off`, `synchronous_commit = off`,
      `full_page_writes = off`, `shared_buffers = 32MB`, `max_connections = 200`, `logging_collector = off`].join('\n') + '\n',
  );
  if (asRoot) {
    const { uid, gid } = uidOf('postgres');
    chownSync(join(data, 'postgresql.auto.conf'), uid, gid);
  }
  const owner = asRoot ? uidOf('postgres') : undefined;
  const own = (path: string): void => {
    if (owner) chownSync(path, owner.uid, owner.gid);
  };
  let tls: PostgresTls | undefined;
  if (opts.tls) {
    // TLS only, from loopback: the test role by password, certUser by its client certificate.
    const ca = makeCa(dir, 'ca');
    const other = makeCa(dir, 'other-ca');
    const server = signed(dir, ca, 'server', 'db', ['DNS:localhost', 'IP:127.0.0.1']);
    own(server.key);
    const client = signed(dir, ca, 'client', 'certuser', []);
    writeFileSync(join(data, 'postgresql.auto.conf'), `ssl = on\nssl_cert_file = '${server.cert}'\nssl_key_file = '${server.key}'\nssl_ca_file = '${ca.cert}'\n`, { flag: 'a' });
    writeFileSync(join(data, 'pg_hba.conf'), 'local all all trust\nhostssl all sftpgo 127.0.0.1/32 scram-sha-256\nhostssl all certuser 127.0.0.1/32 cert\n');
    own(join(data, 'pg_hba.conf'));
    tls = {
      ca: ca.cert,
      clientCert: client.cert,
      clientKey: client.key,
      certUser: 'certuser',
      otherCa: other.cert,
      reissue(names) {
        const again = signed(dir, ca, 'server', 'db', names);
        own(again.key);
        run(join(bin, 'pg_ctl'), ['-D', data, 'reload']);
      },
    };
  }
  const logFile = join(dir, 'server.log');
  run(join(bin, 'pg_ctl'), ['-D', data, '-l', logFile, '-w', '-t', '60', 'start']);
  const psql = (query: string, database = 'postgres'): string =>
    run('psql', ['-h', dir, '-p', String(port), '-U', 'postgres', '-d', database, '-v', 'ON_ERROR_STOP=1', '-Atq', '-c', query]);
  const username = 'sftpgo';
  const database = 'sftpgo';
  psql(`CREATE ROLE ${username} LOGIN PASSWORD '${password}'`);
  psql(`CREATE DATABASE ${database} OWNER ${username}`);
  if (tls) psql(`CREATE ROLE ${tls.certUser} LOGIN IN ROLE ${username}`);
  let stopped = false;
  return {
    host: '127.0.0.1',
    port,
    username,
    password,
    database,
    dir,
    providerYaml: `data_provider:\n  driver: postgresql\n  host: 127.0.0.1\n  port: ${port}\n  name: ${database}\n  username: ${username}\n  password: { env: PG_PASSWORD }\n`,
    provider: (extra = {}) => ({ driver: 'postgresql', host: '127.0.0.1', port, name: database, username, password, sslmode: 0, ...extra }),
    sql: psql,
    ...(tls ? { tls } : {}),
    createDatabase(name) {
      psql(`CREATE DATABASE ${name} OWNER ${username}`);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        run(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } finally {
        if (existsSync(logFile)) keepLog(newLogFile('postgres'), readFileSync(logFile));
      }
    },
  };
}

/** The PostgreSQL client's version, for skipping with a reason when the server is missing. */
export function postgresAvailable(): boolean {
  try {
    postgresBin();
    execFileSync('psql', ['--version']);
    return true;
  } catch {
    return false;
  }
}

/** Ports of one replica's listeners. */
export interface ReplicaPorts {
  sftp: number;
  api: number;
  dav: number;
}

export interface StartedReplica extends ReplicaPorts {
  proc: RunningServer;
  dataDir: string;
}

/**
 * Starts replica `n` of a test cluster sharing `pg`: a server process with its own data dir under
 * `dir` (`data<n>`) and free ports for its config. Replica 0 makes the shared store's secrets key;
 * the others get a copy, as a deployment copies it, so replica 0 must have started first.
 */
export async function startReplica(o: { pg: Postgres; dir: string; n: number; yaml: (ports: ReplicaPorts) => string; env?: Record<string, string> }): Promise<StartedReplica> {
  const ports = { sftp: await freePort(), api: await freePort(), dav: await freePort() };
  const dataDir = join(o.dir, `data${o.n}`);
  mkdirSync(dataDir, { recursive: true });
  if (o.n > 0) copyFileSync(join(o.dir, 'data0', 'secrets.key'), join(dataDir, 'secrets.key'));
  const proc = await startServer({ yaml: o.yaml(ports), cwd: tempDir(`replica${o.n}-`), dataDir, env: { PG_PASSWORD: o.pg.password, ...o.env } });
  return { proc, dataDir, ...ports };
}
