// Writes the image two ways from the same entries: as an OCI image layout (oci-layout, index.json,
// blobs/sha256/: one gzip'd tar layer, the config, the manifest) that skopeo, podman and
// containerd load as is; and as a plain directory tree with the same owners and modes, which the
// Dockerfile copies into a FROM-scratch stage.
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { SERVICE_USER, type Entry, type RuntimeConfig } from './image.ts';
import { tarArchive } from './tar.ts';

export const MEDIA_TYPES = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
} as const;

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { architecture: string; os: string };
  annotations?: Record<string, string>;
}

export interface LayoutOptions {
  entries: Entry[];
  runtime: RuntimeConfig;
  version: string;
  architecture: string;
  /** Seconds since the epoch: the image's creation time and every file's mtime. */
  epoch: number;
  out: string;
}

function contentOf(e: Entry): Uint8Array {
  if (e.data) return e.data;
  if (e.source) return readFileSync(e.source);
  throw new Error(`${e.path}: a file entry needs a source or data`);
}

function sha256(data: Uint8Array): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** Writes the layout into `out` (replacing a previous one there) and returns the manifest's descriptor. */
export function writeLayout(opts: LayoutOptions): Descriptor {
  const blobs = join(opts.out, 'blobs/sha256');
  for (const old of ['blobs', 'index.json', 'oci-layout']) rmSync(join(opts.out, old), { recursive: true, force: true });
  mkdirSync(blobs, { recursive: true });
  const blob = (mediaType: string, data: Uint8Array): Descriptor => {
    const digest = sha256(data);
    writeFileSync(join(blobs, digest.slice('sha256:'.length)), data);
    return { mediaType, digest, size: data.length };
  };

  const tar = tarArchive(opts.entries, contentOf, { mtime: opts.epoch, names: { 0: 'root', [SERVICE_USER.uid]: SERVICE_USER.name } });
  // node's gzip header carries no name and a zero mtime, so equal tars give equal blobs.
  const layer = blob(MEDIA_TYPES.layer, gzipSync(tar));
  const created = new Date(opts.epoch * 1000).toISOString().replace(/\.000Z$/, 'Z');
  const config = blob(
    MEDIA_TYPES.config,
    Buffer.from(
      JSON.stringify({
        created,
        architecture: opts.architecture,
        os: 'linux',
        config: opts.runtime,
        rootfs: { type: 'layers', diff_ids: [sha256(tar)] },
        history: [{ created, created_by: 'bun packaging/oci/build.ts' }],
      }),
    ),
  );
  const annotations = { 'org.opencontainers.image.version': opts.version, 'org.opencontainers.image.created': created, 'org.opencontainers.image.title': 'sftpgo' };
  const manifest = blob(
    MEDIA_TYPES.manifest,
    Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.manifest, config, layers: [layer], annotations })),
  );
  const ref: Descriptor = {
    ...manifest,
    platform: { architecture: opts.architecture, os: 'linux' },
    annotations: { 'org.opencontainers.image.ref.name': opts.version },
  };
  writeFileSync(join(opts.out, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.index, manifests: [ref] }));
  writeFileSync(join(opts.out, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  return ref;
}

/**
 * Writes the entries as a directory tree under `dir` with their owners, modes and mtime (run as
 * root: the data dir belongs to the service user). `COPY --from=stage DIR/ /` keeps all three.
 */
export function stageRootfs(opts: { entries: Entry[]; dir: string; epoch: number }): void {
  mkdirSync(opts.dir, { recursive: true });
  for (const e of opts.entries) {
    const target = join(opts.dir, e.path);
    if (e.type === 'dir') mkdirSync(target, { recursive: true });
    else writeFileSync(target, contentOf(e));
    chownSync(target, e.uid, e.gid);
    // After chown, which clears set-id bits, and explicitly, since mkdir and write apply the umask.
    chmodSync(target, e.mode);
  }
  // Children first: writing into a directory moves its mtime.
  for (const e of [...opts.entries].reverse()) utimesSync(join(opts.dir, e.path), opts.epoch, opts.epoch);
}

