// The last config that passed every check, kept in the data dir, so that `serve` and `plan` with a
// file byte-identical to it skip the YAML reader, the schema validation and the semantic checks:
// ~200 ms of CPU out of a ~550 ms no-change start at 10,000 users, against ~20 ms to open it.
//
// What is kept is the parsed config as JSON, sealed with AES-256-GCM under a key derived from the
// data dir's secrets.key: a config holds literal secrets, which are never at rest in clear
// (sealed.ts). The SHA-256 of the file's text and the digest of the build's sources are the
// associated data, so another file, another build, another key or a damaged cache does not open,
// and the file is then read as usual. The cache is a pure function of the file's bytes and of the
// code that checked them: nothing in the store can make it wrong. What the file does not hold is
// still looked at on every load: the places of its secret references ({ env }, { file }) are kept
// with it, and each is resolved again (the only check of a secret that can change without the file:
// a literal's or a reference's form cannot).
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PathSegment } from './schema-errors.ts';
import type { SFTPGoTSConfiguration } from './schema-types.ts';
import { loadSecretsKey } from './sealed.ts';
import { forEachSecret } from './secrets.ts';

export const CHECKED_CONFIG_FILE = 'checked-config.sealed';

export interface ConfigCache {
  /** The data dir: where the cache and secrets.key are. */
  dir: string;
  /**
   * What identifies the code that checks a config (scripts/build.ts bakes a digest of the sources
   * into the binary). Runs from source have none, and so no cache: their code can change under an
   * unchanged file.
   */
  build: string;
  /** Write the cache after a miss (`serve`); `plan` only reads it. */
  write: boolean;
}

const AAD_PREFIX = 'sftpgo-ts checked config v1\0';
const NONCE = 12;
const TAG = 16;

/** The digest a cache entry is keyed by: the exact text of the file. */
export function configDigest(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function cacheKey(dir: string): Buffer | undefined {
  try {
    const master = loadSecretsKey(dir, false);
    return master && createHmac('sha256', master).update('checked config').digest();
  } catch {
    return undefined;
  }
}

function aad(cache: ConfigCache, digest: string): Buffer {
  return Buffer.from(`${AAD_PREFIX}${cache.build}\0${digest}`);
}

export interface CheckedConfig {
  config: SFTPGoTSConfiguration;
  /** Where the config has `{ env }` and `{ file }` secrets, to resolve again on each load. */
  references: PathSegment[][];
}

/** The config remembered for a file with this digest, or undefined (none, another file or build, damaged). */
export function recallCheckedConfig(cache: ConfigCache, digest: string): CheckedConfig | undefined {
  let raw: Buffer;
  try {
    raw = readFileSync(join(cache.dir, CHECKED_CONFIG_FILE));
  } catch {
    return undefined;
  }
  const key = cacheKey(cache.dir);
  if (!key || raw.length < NONCE + TAG) return undefined;
  try {
    const d = createDecipheriv('aes-256-gcm', key, raw.subarray(0, NONCE));
    d.setAAD(aad(cache, digest));
    d.setAuthTag(raw.subarray(raw.length - TAG));
    const json = Buffer.concat([d.update(raw.subarray(NONCE, raw.length - TAG)), d.final()]).toString('utf8');
    return JSON.parse(json) as CheckedConfig;
  } catch {
    return undefined;
  }
}

/** Thrown by the replacer below: the value has a number that JSON would not give back. */
class NotJsonError extends Error {}

function exactJson(_key: string, value: unknown): unknown {
  if (typeof value === 'number' && (!Number.isFinite(value) || Object.is(value, -0))) throw new NotJsonError();
  return value;
}

/**
 * Remembers `config`, just checked, for the file with this digest. Only where the data dir already
 * has its secrets.key (a first start creates it after the config is loaded), and only a config
 * that JSON gives back unchanged (no .nan, .inf or -0, no cycle). A cache that cannot be written is
 * no error.
 */
export function rememberCheckedConfig(cache: ConfigCache, digest: string, config: SFTPGoTSConfiguration): void {
  if (!cache.write) return;
  const key = cacheKey(cache.dir);
  if (!key) return;
  const references: PathSegment[][] = [];
  forEachSecret(config, (secret, path) => {
    if (typeof secret === 'object' && ('env' in secret || 'file' in secret)) references.push(path);
  });
  let json: string;
  try {
    json = JSON.stringify({ config, references } satisfies CheckedConfig, exactJson);
  } catch {
    // A number JSON would not give back, or an alias that makes a cycle: read such a file each time.
    return;
  }
  const nonce = randomBytes(NONCE);
  const c = createCipheriv('aes-256-gcm', key, nonce);
  c.setAAD(aad(cache, digest));
  const body = Buffer.concat([nonce, c.update(json, 'utf8'), c.final(), c.getAuthTag()]);
  const path = join(cache.dir, CHECKED_CONFIG_FILE);
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, body, { mode: 0o600 });
    renameSync(tmp, path);
  } catch {
    rmSync(tmp, { force: true });
  }
}
