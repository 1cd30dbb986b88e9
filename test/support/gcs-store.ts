// State of the GCS test server (see gcs-server.ts): buckets and objects, object bytes kept as
// files in a temp dir (never in memory), generations, hashes, the JSON resource shapes the
// JSON API returns, and the prefix/delimiter/page-token listing rules. Follows Google's
// documented behaviour of Cloud Storage; it is not Google and implements only what the tests need.
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, mkdirSync, rmSync } from 'node:fs';
import { copyFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32cBase64, crc32cUpdate } from './gcs-crc32c.ts';

/** An error the server answers with `{ error: { code, message, errors: [...] } }`. */
export class GcsError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

export const notFound = (what: string): GcsError => new GcsError(404, 'notFound', `No such object: ${what}`);

/** Writable object fields a client may set on insert, rewrite or patch. */
const WRITABLE_FIELDS = ['contentType', 'contentEncoding', 'contentDisposition', 'contentLanguage', 'cacheControl', 'storageClass', 'customTime'] as const;
type WritableField = (typeof WRITABLE_FIELDS)[number];

export interface ObjectRecord {
  bucket: string;
  name: string;
  generation: string;
  metageneration: number;
  size: number;
  md5Hash: string;
  crc32c: string;
  timeCreated: string;
  updated: string;
  fields: Partial<Record<WritableField, string>>;
  metadata?: Record<string, string>;
  /** The file holding the bytes; each generation has its own. */
  path: string;
}

export interface BucketRecord {
  name: string;
  timeCreated: string;
  metageneration: number;
  storageClass: string;
  objects: Map<string, ObjectRecord>;
}

export interface Preconditions {
  ifGenerationMatch?: string;
  ifGenerationNotMatch?: string;
  ifMetagenerationMatch?: string;
  ifMetagenerationNotMatch?: string;
}

/** The precondition query parameters of a request (`if...Match`). */
export function preconditionsOf(q: URLSearchParams, prefix = ''): Preconditions {
  const get = (k: string): string | undefined => q.get(prefix ? prefix + k[0]!.toUpperCase() + k.slice(1) : k) ?? undefined;
  return {
    ifGenerationMatch: get('ifGenerationMatch'),
    ifGenerationNotMatch: get('ifGenerationNotMatch'),
    ifMetagenerationMatch: get('ifMetagenerationMatch'),
    ifMetagenerationNotMatch: get('ifMetagenerationNotMatch'),
  };
}

/** Throws 412 conditionNotMet as GCS does; `ifGenerationMatch=0` means "must not exist". */
export function checkPreconditions(obj: ObjectRecord | undefined, p: Preconditions): void {
  const fail = (): never => {
    throw new GcsError(412, 'conditionNotMet', 'At least one of the pre-conditions you specified did not hold.');
  };
  const gen = obj ? obj.generation : '0';
  if (p.ifGenerationMatch !== undefined && p.ifGenerationMatch !== gen) fail();
  if (p.ifGenerationNotMatch !== undefined && p.ifGenerationNotMatch === gen) fail();
  if (p.ifMetagenerationMatch !== undefined && (!obj || String(obj.metageneration) !== p.ifMetagenerationMatch)) fail();
  if (p.ifMetagenerationNotMatch !== undefined && obj && String(obj.metageneration) === p.ifMetagenerationNotMatch) fail();
}

/** md5 and crc32c of a file, streamed. */
export async function hashFile(path: string): Promise<{ size: number; md5Hash: string; crc32c: string }> {
  const md5 = createHash('md5');
  let crc = 0;
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    const b = chunk as Buffer;
    md5.update(b);
    crc = crc32cUpdate(crc, b);
    size += b.length;
  }
  return { size, md5Hash: md5.digest('base64'), crc32c: crc32cBase64(crc) };
}

/** Splits a client-supplied object resource into the fields we keep. */
export function writableFieldsOf(resource: Record<string, unknown>): { fields: ObjectRecord['fields']; metadata?: Record<string, string> } {
  const fields: ObjectRecord['fields'] = {};
  for (const f of WRITABLE_FIELDS) if (typeof resource[f] === 'string') fields[f] = resource[f] as string;
  const m = resource.metadata;
  let metadata: Record<string, string> | undefined;
  if (m && typeof m === 'object') {
    metadata = {};
    for (const [k, v] of Object.entries(m as Record<string, unknown>)) if (v !== null && v !== undefined) metadata[k] = String(v);
  }
  return { fields, metadata };
}

let lastGeneration = 0;
/** Generations are microsecond timestamps in GCS; strictly increasing here. */
function nextGeneration(): string {
  lastGeneration = Math.max(lastGeneration + 1, Date.now() * 1000);
  return String(lastGeneration);
}

export class GcsStore {
  readonly buckets = new Map<string, BucketRecord>();
  private readonly dataDir: string;
  readonly uploadDir: string;

  constructor(readonly root: string) {
    this.dataDir = join(root, 'objects');
    this.uploadDir = join(root, 'uploads');
    mkdirSync(this.dataDir, { recursive: true });
    mkdirSync(this.uploadDir, { recursive: true });
  }

  /** A fresh path for bytes being received; commit() adopts it. */
  newUploadPath(): string {
    return join(this.uploadDir, randomUUID());
  }

  bucket(name: string): BucketRecord {
    const b = this.buckets.get(name);
    if (!b) throw new GcsError(404, 'notFound', `The specified bucket does not exist: ${name}`);
    return b;
  }

  createBucket(name: string, storageClass = 'STANDARD'): BucketRecord {
    if (!/^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/.test(name)) throw new GcsError(400, 'invalid', `Invalid bucket name: '${name}'`);
    if (this.buckets.has(name)) throw new GcsError(409, 'conflict', 'Your previous request to create the named bucket succeeded and you already own it.');
    const b: BucketRecord = { name, timeCreated: new Date().toISOString(), metageneration: 1, storageClass, objects: new Map() };
    this.buckets.set(name, b);
    return b;
  }

  deleteBucket(name: string): void {
    const b = this.bucket(name);
    if (b.objects.size > 0) throw new GcsError(409, 'conflict', 'The bucket you tried to delete is not empty.');
    this.buckets.delete(name);
  }

  object(bucket: string, name: string): ObjectRecord {
    const o = this.bucket(bucket).objects.get(name);
    if (!o) throw notFound(`${bucket}/${name}`);
    return o;
  }

  /**
   * Makes the bytes at `uploadPath` the new generation of `name` (hashing them first), after
   * checking the preconditions against the live object at commit time, as GCS does.
   */
  async commit(
    bucket: string,
    name: string,
    uploadPath: string,
    resource: Record<string, unknown>,
    pre: Preconditions,
  ): Promise<ObjectRecord> {
    const b = this.bucket(bucket);
    if (!name) throw new GcsError(400, 'required', 'Required: object name');
    const hashes = await hashFile(uploadPath);
    checkPreconditions(b.objects.get(name), pre);
    const { fields, metadata } = writableFieldsOf(resource);
    fields.contentType ??= 'application/octet-stream';
    fields.storageClass ??= b.storageClass;
    const now = new Date().toISOString();
    const rec: ObjectRecord = {
      bucket,
      name,
      generation: nextGeneration(),
      metageneration: 1,
      ...hashes,
      timeCreated: now,
      updated: now,
      fields,
      metadata,
      path: join(this.dataDir, randomUUID()),
    };
    await rename(uploadPath, rec.path);
    this.replace(b, rec);
    return rec;
  }

  private replace(b: BucketRecord, rec: ObjectRecord): void {
    const old = b.objects.get(rec.name);
    b.objects.set(rec.name, rec);
    // Readers that already opened the old file keep reading it (POSIX unlink semantics).
    if (old && old.path !== rec.path) unlink(old.path).catch(() => {});
  }

  /** Server-side rewrite/copy: fields given in `resource` replace the source's, the rest is copied. */
  async copy(
    src: ObjectRecord,
    dstBucket: string,
    dstName: string,
    resource: Record<string, unknown>,
    pre: Preconditions,
  ): Promise<ObjectRecord> {
    const b = this.bucket(dstBucket);
    checkPreconditions(b.objects.get(dstName), pre);
    const given = writableFieldsOf(resource);
    const path = join(this.dataDir, randomUUID());
    await copyFile(src.path, path);
    const now = new Date().toISOString();
    const rec: ObjectRecord = {
      ...src,
      bucket: dstBucket,
      name: dstName,
      generation: nextGeneration(),
      metageneration: 1,
      timeCreated: now,
      updated: now,
      fields: { ...src.fields, ...given.fields },
      metadata: 'metadata' in resource ? given.metadata : src.metadata && { ...src.metadata },
      path,
    };
    this.replace(b, rec);
    return rec;
  }

  /** objects.patch: metadata keys are merged, a null value removes the key. */
  patch(obj: ObjectRecord, body: Record<string, unknown>): ObjectRecord {
    const { fields } = writableFieldsOf(body);
    Object.assign(obj.fields, fields);
    if (body.metadata === null) obj.metadata = undefined;
    else if (body.metadata && typeof body.metadata === 'object') {
      const m = { ...obj.metadata };
      for (const [k, v] of Object.entries(body.metadata as Record<string, unknown>)) {
        if (v === null) delete m[k];
        else m[k] = String(v);
      }
      obj.metadata = Object.keys(m).length ? m : undefined;
    }
    obj.metageneration++;
    obj.updated = new Date().toISOString();
    return obj;
  }

  delete(obj: ObjectRecord): void {
    const b = this.bucket(obj.bucket);
    b.objects.delete(obj.name);
    unlink(obj.path).catch(() => {});
  }

  /**
   * One page of objects.list. `maxResults` counts items and prefixes together; the page token is
   * the last name or prefix returned, so a collapsed prefix is never returned twice.
   */
  list(
    bucket: string,
    q: { prefix: string; delimiter?: string; maxResults: number; pageToken?: string; startOffset?: string; endOffset?: string; includeTrailingDelimiter?: boolean },
  ): { items: ObjectRecord[]; prefixes: string[]; nextPageToken?: string } {
    const b = this.bucket(bucket);
    let after: string | undefined;
    if (q.pageToken) {
      try {
        after = Buffer.from(q.pageToken, 'base64url').toString('utf8');
      } catch {
        throw new GcsError(400, 'invalid', 'Invalid page token');
      }
    }
    // Sorting per page is fine for a test server (thousands of names, not millions).
    const names = [...b.objects.keys()].filter((n) => n.startsWith(q.prefix)).sort(byCodePoint);
    const items: ObjectRecord[] = [];
    const prefixes: string[] = [];
    let last: string | undefined;
    for (const name of names) {
      if (after !== undefined && (name <= after || (q.delimiter && after.endsWith(q.delimiter) && name.startsWith(after)))) continue;
      if (q.startOffset && name < q.startOffset) continue;
      if (q.endOffset && name >= q.endOffset) continue;
      if (items.length + prefixes.length >= q.maxResults) {
        return { items, prefixes, nextPageToken: Buffer.from(last!, 'utf8').toString('base64url') };
      }
      const cut = q.delimiter ? name.indexOf(q.delimiter, q.prefix.length) : -1;
      if (cut >= 0) {
        const p = name.slice(0, cut + q.delimiter!.length);
        if (prefixes[prefixes.length - 1] !== p) prefixes.push(p);
        // With includeTrailingDelimiter, an object named exactly like the prefix is also an item.
        if (q.includeTrailingDelimiter && name === p) items.push(b.objects.get(name)!);
        last = p;
      } else {
        items.push(b.objects.get(name)!);
        last = name;
      }
    }
    return { items, prefixes };
  }

  close(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** GCS orders names by UTF-8 bytes; code-point order is the same thing. */
function byCodePoint(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** The `storage#object` resource. */
export function objectResource(o: ObjectRecord, baseUrl: string): Record<string, unknown> {
  const enc = encodeURIComponent(o.name);
  return {
    kind: 'storage#object',
    id: `${o.bucket}/${o.name}/${o.generation}`,
    selfLink: `${baseUrl}/storage/v1/b/${o.bucket}/o/${enc}`,
    mediaLink: `${baseUrl}/download/storage/v1/b/${o.bucket}/o/${enc}?generation=${o.generation}&alt=media`,
    name: o.name,
    bucket: o.bucket,
    generation: o.generation,
    metageneration: String(o.metageneration),
    ...o.fields,
    size: String(o.size),
    md5Hash: o.md5Hash,
    crc32c: o.crc32c,
    etag: etagOf(o),
    timeCreated: o.timeCreated,
    updated: o.updated,
    timeStorageClassUpdated: o.timeCreated,
    ...(o.metadata ? { metadata: o.metadata } : {}),
  };
}

/** GCS etags change with the generation and the metageneration. */
export function etagOf(o: ObjectRecord): string {
  return Buffer.from(`${o.generation}:${o.metageneration}`).toString('base64');
}

export function bucketResource(b: BucketRecord, baseUrl: string): Record<string, unknown> {
  return {
    kind: 'storage#bucket',
    id: b.name,
    selfLink: `${baseUrl}/storage/v1/b/${b.name}`,
    name: b.name,
    projectNumber: '0',
    metageneration: String(b.metageneration),
    location: 'US',
    storageClass: b.storageClass,
    etag: 'CAE=',
    timeCreated: b.timeCreated,
    updated: b.timeCreated,
    locationType: 'multi-region',
  };
}
