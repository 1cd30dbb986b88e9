// What the container image is: the files of its one layer (with owners and modes) and its runtime
// config (user, environment, ports, entrypoint, healthcheck). Both the OCI layout builder and the
// Dockerfile's staging step take the files from here, and a test holds the Dockerfile's
// instructions to the config below, so the two images cannot drift apart.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';

/** The non-root account the server runs as; it owns the data dir and nothing else. */
export const SERVICE_USER = { name: 'sftpgo', uid: 1000, gid: 1000 } as const;

export const BINARY_PATH = '/usr/bin/sftpgo';
export const CONFIG_PATH = '/etc/sftpgo/sftpgo.yaml';
export const DATA_DIR = '/var/lib/sftpgo';
export const CA_BUNDLE_PATH = '/etc/ssl/certs/ca-certificates.crt';

/** The image's default config, kept beside this module as a plain YAML file. */
export const DEFAULT_CONFIG_SOURCE = join(import.meta.dir, 'sftpgo.yaml');

export interface Entry {
  /** Absolute path inside the image. */
  path: string;
  type: 'dir' | 'file';
  mode: number;
  uid: number;
  gid: number;
  /** A file's content: copied from this path on the build machine... */
  source?: string;
  /** ...or these bytes. */
  data?: Uint8Array;
}

export interface ImageFiles {
  /** The compiled sftpgo binary. */
  binary: string;
  /** The libraries and loader it needs, as absolute paths on this machine (kept at the same paths). */
  libraries: string[];
  /** A CA bundle (Debian's ca-certificates) for the TLS clients of the cloud backends. */
  caBundle: string;
  /** The default config; DEFAULT_CONFIG_SOURCE unless given. */
  config?: string;
}

const PASSWD = `root:x:0:0:root:/root:/usr/sbin/nologin\n${SERVICE_USER.name}:x:${SERVICE_USER.uid}:${SERVICE_USER.gid}:SFTPGo:${DATA_DIR}:/usr/sbin/nologin\n`;
const GROUP = `root:x:0:\n${SERVICE_USER.name}:x:${SERVICE_USER.gid}:\n`;
// glibc's built-in defaults differ between versions (DNS before /etc/hosts in some); say it once.
const NSSWITCH = 'passwd: files\ngroup: files\nhosts: files dns\n';

/**
 * Every entry of the layer, parents before children, sorted by path. Owned by root except the data
 * dir; /tmp is world-writable with the sticky bit because the binary unpacks its native addons there.
 */
export function imageEntries(files: ImageFiles): Entry[] {
  const root = { uid: 0, gid: 0 };
  const entries = new Map<string, Entry>();
  const dir = (path: string, mode = 0o755, owner: { uid: number; gid: number } = root) => entries.set(path, { path, type: 'dir', mode, ...owner });
  const file = (path: string, mode: number, content: { source: string } | { data: Uint8Array }) =>
    entries.set(path, { path, type: 'file', mode, ...root, ...content });

  file(BINARY_PATH, 0o755, { source: files.binary });
  for (const lib of files.libraries) file(lib, 0o755, { source: lib });
  file(CA_BUNDLE_PATH, 0o644, { source: files.caBundle });
  file(CONFIG_PATH, 0o644, { source: files.config ?? DEFAULT_CONFIG_SOURCE });
  file('/etc/passwd', 0o644, { data: Buffer.from(PASSWD) });
  file('/etc/group', 0o644, { data: Buffer.from(GROUP) });
  file('/etc/nsswitch.conf', 0o644, { data: Buffer.from(NSSWITCH) });
  dir('/tmp', 0o1777);
  dir(DATA_DIR, 0o750, { uid: SERVICE_USER.uid, gid: SERVICE_USER.gid });
  for (const path of [...entries.keys()]) {
    for (let p = dirname(path); p !== '/'; p = dirname(p)) if (!entries.has(p)) dir(p);
  }
  return [...entries.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** The TCP ports a config serves: every binding of sftpd, ftpd, webdavd and httpd, and telemetry. */
export function servedPorts(configYaml: string): number[] {
  const c = (parse(configYaml) ?? {}) as Record<string, { bindings?: { port?: number }[]; bind_port?: number } | undefined>;
  const ports = new Set<number>();
  for (const section of ['sftpd', 'ftpd', 'webdavd', 'httpd']) {
    for (const b of c[section]?.bindings ?? []) if (b.port) ports.add(b.port);
  }
  if (c.telemetry?.bind_port) ports.add(c.telemetry.bind_port);
  return [...ports].sort((a, b) => a - b);
}

const SECOND = 1_000_000_000; // Docker's Healthcheck durations are nanoseconds

/** The runtime part of the OCI image config (Docker reads `Healthcheck` from it as well). */
export interface RuntimeConfig {
  User: string;
  Env: string[];
  ExposedPorts: Record<string, Record<string, never>>;
  Entrypoint: string[];
  Cmd: string[];
  WorkingDir: string;
  Volumes: Record<string, Record<string, never>>;
  Healthcheck: { Test: string[]; Interval: number; Timeout: number; StartPeriod: number; Retries: number };
}

export function runtimeConfig(opts: { config?: string } = {}): RuntimeConfig {
  const ports = servedPorts(readFileSync(opts.config ?? DEFAULT_CONFIG_SOURCE, 'utf8'));
  return {
    // Numeric, so that runtimes can tell it is not root without reading /etc/passwd.
    User: `${SERVICE_USER.uid}:${SERVICE_USER.gid}`,
    // The data dir named before the config is read lets a restart take the checked-config cache.
    Env: ['TMPDIR=/tmp', `SFTPGO_CONFIG=${CONFIG_PATH}`, `SFTPGO_DATA_DIR=${DATA_DIR}`],
    ExposedPorts: Object.fromEntries(ports.map((p) => [`${p}/tcp`, {}])),
    Entrypoint: [BINARY_PATH],
    Cmd: ['serve'],
    WorkingDir: DATA_DIR,
    Volumes: { [DATA_DIR]: {} },
    // Longer than ping's own 5 s wait, so that a slow answer is reported by ping rather than killed.
    Healthcheck: { Test: ['CMD', BINARY_PATH, 'ping'], Interval: 30 * SECOND, Timeout: 10 * SECOND, StartPeriod: 10 * SECOND, Retries: 3 },
  };
}
