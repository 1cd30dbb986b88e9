// The encrypted local backend: a local directory whose files hold SFTPGo-compatible DARE streams
// (see format.ts) under a per-user passphrase. It composes the local backend: every path goes
// through LocalFs, so confinement, errno mapping, directories, renames and times are the local
// backend's own; this module only turns file contents and sizes into plaintext. Uploads go to a
// temp file beside the target and are renamed over it on close, so an aborted upload never
// damages the previous version.
import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { AppError, isAppError } from '../../errors.ts';
import type { CryptConfig } from '../../config/schema-types.ts';
import { NO_SECRETS, type SecretBox } from '../../config/sealed.ts';
import { resolveSecret } from '../../config/secrets.ts';
import type { Capabilities, FileInfo, FileReader, FileWriter, Fs, FsUsage, ReadRange, WriteOptions } from '../fs.ts';
import { openLocalFs, type LocalFs } from '../local/local-fs.ts';
import { cipherIdOf, packageAead } from './aead.ts';
import { FILE_SALT_SIZE, fileHeader, deriveFileKey, listedSize, packageIndex, type CipherId } from './format.ts';
import { CryptReader } from './reader.ts';
import { DecryptStream } from './stream.ts';
import { CryptWriter } from './writer.ts';

export interface CryptFsOptions {
  /** Where relative `{ file: ... }` passphrase references are resolved (default: the cwd). */
  baseDir?: string;
  /** Opens sealed secrets (the data directory's key); without it a sealed secret is refused. */
  secrets?: SecretBox;
  /** false: do not create a missing root (filters.disable_fs_checks). */
  createRoot?: boolean;
}

/** Prefix of in-progress upload files; they live beside their target until close or abort. */
export const UPLOAD_TEMP_PREFIX = '.sftpgo-crypt-';

/** Opens (creating it when missing) an encrypted local root. An empty passphrase is a config error. */
export async function openCryptFs(root: string, config: CryptConfig, opts: CryptFsOptions = {}): Promise<CryptFs> {
  const passphrase = resolveSecret(config.passphrase, opts.baseDir ?? process.cwd(), opts.secrets ?? NO_SECRETS);
  if (!passphrase) throw new AppError('config', 'cryptconfig.passphrase is empty (or not resolved yet)');
  const cipher = cipherIdOf(config.cipher);
  if (cipher === undefined) throw new AppError('config', `cryptconfig.cipher: unsupported cipher ${config.cipher}`);
  return new CryptFs(await openLocalFs(root, { createRoot: opts.createRoot !== false }), new TextEncoder().encode(passphrase), cipher);
}

export class CryptFs implements Fs {
  readonly kind = 'crypt';
  readonly capabilities: Capabilities;
  readonly #local: LocalFs;
  readonly #passphrase: Uint8Array;
  readonly #cipher: CipherId;

  constructor(local: LocalFs, passphrase: Uint8Array, cipher: CipherId) {
    this.#local = local;
    this.#passphrase = passphrase;
    this.#cipher = cipher;
    this.capabilities = Object.freeze({
      ...local.capabilities,
      // Packages are sealed in order with a final flag: no writes into the middle, no resume.
      randomWrites: false,
      resume: false,
      randomReads: true,
      // A byte copy of an encrypted file is valid: its key comes from the passphrase and its own salt.
      serverSideCopy: true,
      checksums: [],
    });
  }

  async stat(path: string): Promise<FileInfo> {
    return plainInfo(await this.#local.stat(path));
  }

  async lstat(path: string): Promise<FileInfo> {
    return plainInfo(await this.#local.lstat(path));
  }

  async *list(path: string): AsyncIterable<FileInfo> {
    for await (const e of this.#local.list(path)) yield plainInfo(e);
  }

  async openRead(path: string, range: ReadRange = {}): Promise<Readable> {
    const reader = await this.#openCryptReader(path);
    try {
      const start = Math.max(0, range.start ?? 0);
      const end = Math.min(reader.size - 1, range.end ?? Number.MAX_SAFE_INTEGER);
      // Decrypt the first packages now so a wrong passphrase or a damaged file fails the open.
      const first = start <= end ? await reader.packages(packageIndex(start), 4) : undefined;
      return new DecryptStream(reader, start, end, first);
    } catch (err) {
      await reader.close().catch(() => undefined);
      throw err;
    }
  }

  openReader(path: string): Promise<FileReader> {
    return this.#openCryptReader(path);
  }

  async #openCryptReader(path: string): Promise<CryptReader> {
    const info = await this.#local.stat(path);
    if (info.type === 'dir') throw new AppError('is_dir', `open ${path}: is a directory`);
    const raw = await this.#local.openReader(path);
    return CryptReader.open(raw, info.size, this.#passphrase, path);
  }

  async openWrite(path: string, opts: WriteOptions = {}): Promise<FileWriter> {
    const existing = await this.#local.stat(path).catch((err) => {
      if (isAppError(err, 'not_found')) return undefined;
      throw err;
    });
    if (existing?.type === 'dir') throw new AppError('is_dir', `create ${path}: is a directory`);
    if (existing && opts.exclusive) throw new AppError('exists', `create ${path}: already exists`);
    const existingSize = existing ? listedSize(existing.size) : 0;
    if ((opts.offset ?? 0) > 0 || (opts.append && existingSize > 0))
      throw new AppError('unsupported', `write ${path}: encrypted files cannot be resumed or appended to`);
    if (opts.truncate === false && existingSize > 0)
      throw new AppError('unsupported', `write ${path}: encrypted files can only be replaced as a whole`);

    const temp = uploadTempPath(path);
    const raw = await this.#local.openWrite(temp, { exclusive: true, mode: opts.mode ?? existing?.mode ?? 0o644 });
    const salt = new Uint8Array(randomBytes(FILE_SALT_SIZE));
    try {
      await raw.write(fileHeader(salt));
    } catch (err) {
      await raw.abort().catch(() => undefined);
      await this.#local.remove(temp).catch(() => undefined);
      throw err;
    }
    const aead = packageAead(this.#cipher, deriveFileKey(this.#passphrase, salt))!;
    const local = this.#local;
    return new CryptWriter(
      aead,
      this.#cipher,
      {
        raw,
        async commit() {
          if (!opts.exclusive) return local.rename(temp, path);
          // link() fails with `exists` if someone created the target meanwhile: no silent replace.
          await local.link(temp, path);
          await local.remove(temp);
        },
        discard: () => local.remove(temp),
      },
      path,
    );
  }

  rename(from: string, to: string): Promise<void> {
    return this.#local.rename(from, to);
  }

  remove(path: string): Promise<void> {
    return this.#local.remove(path);
  }

  mkdir(path: string): Promise<void> {
    return this.#local.mkdir(path);
  }

  rmdir(path: string): Promise<void> {
    return this.#local.rmdir(path);
  }

  setTimes(path: string, atimeMs: number, mtimeMs: number): Promise<void> {
    return this.#local.setTimes(path, atimeMs, mtimeMs);
  }

  /** Only "empty it" (and "keep its size") can be done without rewriting the file. */
  async truncate(path: string, size: number): Promise<void> {
    const info = await this.stat(path);
    if (info.type === 'dir') throw new AppError('is_dir', `truncate ${path}: is a directory`);
    if (size === info.size) return;
    if (size !== 0) throw new AppError('unsupported', `truncate ${path}: encrypted files can only be truncated to 0`);
    const w = await this.openWrite(path);
    await w.close();
  }

  statvfs(path: string): Promise<FsUsage> {
    return this.#local.statvfs(path);
  }

  copy(from: string, to: string): Promise<void> {
    return this.#local.copy(from, to);
  }

  chmod(path: string, mode: number): Promise<void> {
    return this.#local.chmod(path, mode);
  }

  chown(path: string, uid: number, gid: number): Promise<void> {
    return this.#local.chown(path, uid, gid);
  }

  symlink(target: string, linkPath: string): Promise<void> {
    return this.#local.symlink(target, linkPath);
  }

  readlink(path: string): Promise<string> {
    return this.#local.readlink(path);
  }

  link(existing: string, newPath: string): Promise<void> {
    return this.#local.link(existing, newPath);
  }
}

/** Regular files report their plaintext size; directories and links are left as they are. */
function plainInfo(info: FileInfo): FileInfo {
  return info.type === 'file' ? { ...info, size: listedSize(info.size) } : info;
}

function uploadTempPath(path: string): string {
  const dir = posix.dirname(posix.normalize(`/${path}`));
  return posix.join(dir, `${UPLOAD_TEMP_PREFIX}${randomBytes(8).toString('hex')}.part`);
}
