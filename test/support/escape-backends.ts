// The storage each escape-matrix run puts the user's home on, with the canaries around it: every
// backend holds `homes/victim/` (the home), `homes/canary-out.txt`, `canary-top.txt` and
// `homes/sibling/canary-sib.txt`, written and read behind the server's back (the bucket's SDK, or
// the disk, for local, crypt and sshd's side of the SFTP backend), where symlinks out of the home
// are made too.
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { Storage } from '@google-cloud/storage';
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { startAzurite } from './azurite.ts';
import { startGcsServer } from './gcs-server.ts';
import { s3ClientFor, startS3rver } from './s3rver.ts';
import { startSshd } from './sshd.ts';
import { TEST_SECRETS } from './secrets.ts';
import { tempDir } from './tmp.ts';

export const VICTIM_HOME = 'homes/victim';

export interface EscapeBackend {
  name: string;
  /** Symlinks can be made in the home beside the server. */
  links: boolean;
  /** The home's absolute path as the backend names it (for absolute-path tricks). */
  homeAbs: string;
  /** The user's `home_dir:` and `filesystem:` lines (indented four spaces). */
  userYaml(localHome: string): string;
  put(key: string, content: string): Promise<void>;
  /** Every entry outside the victim's home: key to a digest of its content (or link target). */
  snapshot(): Promise<Map<string, string>>;
  /** A symlink at `key` (under the home) pointing to `target`, written as given. */
  link?(key: string, target: string): void;
  stop(): Promise<void>;
}

const digest = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex').slice(0, 16);

/** A directory tree outside `skip`: relative path to content digest, "dir" or "link:target". */
export function snapshotDir(root: string, skip: string[] = []): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(root, rel))) {
      const r = rel ? `${rel}/${name}` : name;
      if (skip.includes(r)) continue;
      const st = lstatSync(join(root, r));
      if (st.isSymbolicLink()) out.set(r, `link:${readlinkSync(join(root, r))}`);
      else if (st.isDirectory()) (out.set(r, 'dir'), walk(r));
      else out.set(r, digest(readFileSync(join(root, r))));
    }
  };
  walk('');
  return out;
}

function diskBackend(name: string, root: string, fsYaml: (home: string) => string, extraStop: () => Promise<void> = async () => undefined): EscapeBackend {
  const home = join(root, VICTIM_HOME);
  mkdirSync(home, { recursive: true });
  return {
    name,
    links: true,
    homeAbs: home,
    userYaml: () => `    home_dir: ${home}\n${fsYaml(home)}`,
    async put(key, content) {
      mkdirSync(dirname(join(root, key)), { recursive: true });
      writeFileSync(join(root, key), content);
    },
    snapshot: async () => snapshotDir(root, [VICTIM_HOME]),
    link(key, target) {
      mkdirSync(dirname(join(root, key)), { recursive: true });
      symlinkSync(target, join(root, key));
    },
    stop: extraStop,
  };
}

export function localBackend(): EscapeBackend {
  return diskBackend('local', tempDir('escape-local-'), () => '');
}

export function cryptBackend(): EscapeBackend {
  return diskBackend('crypt', tempDir('escape-crypt-'), () => `    filesystem:\n      provider: crypt\n      cryptconfig: { passphrase: "${TEST_SECRETS.cryptPassphrase}" }\n`);
}

export async function sftpBackend(): Promise<EscapeBackend> {
  const sshd = await startSshd();
  const root = tempDir('escape-sftp-');
  const key = join(root, '..', `${root.split('/').pop()}-client-key`);
  writeFileSync(key, sshd.clientKey, { mode: 0o600 });
  return diskBackend('sftp', root, (home) => [
    '    filesystem:',
    '      provider: sftp',
    `      sftpconfig: { endpoint: "${sshd.endpoint}", username: ${sshd.user}, private_key: { file: "${key}" }, fingerprints: ["${sshd.hostFingerprint}"], prefix: "${home}" }`,
    '',
  ].join('\n'), () => sshd.stop());
}

/** An object-store backend: what to say in YAML, and the bucket's own put/list/get. */
function objectBackend(o: {
  name: string;
  config: string;
  put(key: string, content: string): Promise<void>;
  list(): Promise<string[]>;
  get(key: string): Promise<Buffer>;
  stop(): Promise<void>;
}): EscapeBackend {
  const localHome = tempDir(`escape-${o.name}-home-`);
  return {
    name: o.name,
    links: false,
    homeAbs: `/${VICTIM_HOME}`,
    userYaml: () => `    home_dir: ${localHome}\n    filesystem:\n${o.config}`,
    put: o.put,
    async snapshot() {
      const out = new Map<string, string>();
      for (const k of await o.list()) if (!k.startsWith(`${VICTIM_HOME}/`)) out.set(k, digest(await o.get(k)));
      return out;
    },
    stop: o.stop,
  };
}

export async function s3Backend(): Promise<EscapeBackend> {
  const s3 = await startS3rver('escape');
  const c = s3ClientFor(s3);
  const withLog = async <T>(what: Promise<T>): Promise<T> => what.catch((err: Error) => Promise.reject(new Error(`${err.message}; s3rver said:\n${s3.log().slice(-3000)}`)));
  return objectBackend({
    name: 's3',
    config: `      provider: s3\n      s3config: { bucket: ${s3.bucket}, region: us-east-1, endpoint: "${s3.endpoint}", force_path_style: true, access_key: ${s3.accessKey}, access_secret: "${s3.secretKey}", key_prefix: "${VICTIM_HOME}/", request_checksum_calculation: when_required, response_checksum_validation: when_required }\n`,
    put: async (key, content) => void (await c.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: content }))),
    list: async () => {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const r = await withLog(c.send(new ListObjectsV2Command({ Bucket: s3.bucket, ContinuationToken: token })));
        keys.push(...(r.Contents ?? []).map((x) => x.Key!));
        token = r.NextContinuationToken;
      } while (token);
      return keys;
    },
    get: async (key) => Buffer.from(await (await c.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }))).Body!.transformToByteArray()),
    stop: async () => (c.destroy(), await s3.stop()),
  });
}

export async function gcsBackend(): Promise<EscapeBackend> {
  const srv = await startGcsServer();
  srv.createBucket('escape');
  const bucket = new Storage({ apiEndpoint: srv.endpoint, projectId: 'test' }).bucket('escape');
  return objectBackend({
    name: 'gcs',
    config: `      provider: gcs\n      gcsconfig: { bucket: escape, endpoint: "${srv.endpoint}", key_prefix: "${VICTIM_HOME}/" }\n`,
    put: async (key, content) => void (await bucket.file(key).save(content)),
    list: async () => (await bucket.getFiles())[0].map((f) => f.name),
    get: async (key) => (await bucket.file(key).download())[0],
    stop: () => srv.close(),
  });
}

export async function azureBackend(): Promise<EscapeBackend> {
  const az = await startAzurite();
  await az.createContainer('escape');
  const container = az.service.getContainerClient('escape');
  return objectBackend({
    name: 'azblob',
    config: `      provider: azblob\n      azblobconfig: { container: escape, account_name: ${az.account}, account_key: "${az.key}", endpoint: "${az.endpoint}", key_prefix: "${VICTIM_HOME}/" }\n`,
    put: async (key, content) => void (await container.getBlockBlobClient(key).upload(content, Buffer.byteLength(content))),
    list: async () => {
      const keys: string[] = [];
      for await (const b of container.listBlobsFlat()) keys.push(b.name);
      return keys;
    },
    get: async (key) => container.getBlockBlobClient(key).downloadToBuffer(),
    stop: () => az.stop(),
  });
}
