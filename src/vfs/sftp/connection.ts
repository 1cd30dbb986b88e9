// The SSH connection and SFTP channel an SftpFs talks through. One connection per Fs, opened on
// first use and shared by every operation (SFTP multiplexes requests by id, so one channel carries
// many concurrent transfers). When it drops, the next operation opens a new one; an idempotent
// operation that was caught by the drop is retried once on the new connection. The host key is
// checked against pinned SHA256 fingerprints before any credential is sent.
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { AppError } from '../../errors.ts';
import { checkAborted, raceAbort } from '../abort.ts';
import { Client, type ClientConfig, type SFTPWrapper } from '../../lib/ssh2.ts';
import { ConnectionLost, FX, sftpError, statusOf } from './errors.ts';

export interface ConnectParams {
  host: string;
  port: number;
  username: string;
  password?: string;
  privateKey?: string;
  passphrase?: string;
  /** Normalized "SHA256:..." fingerprints; empty accepts any host key. */
  fingerprints: readonly string[];
  /** The remote directory the Fs is confined to, as configured ("/" for none). */
  prefix: string;
  readyTimeoutMs: number;
  /** Close the connection after this long without operations or open files; 0 keeps it. */
  idleTimeoutMs: number;
}

type Cb<T> = (err: Error | undefined | null, value: T) => void;

/** Fingerprint of a raw host key blob, as `ssh-keygen -lf` prints it. */
export function hostKeyFingerprint(key: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(key).digest('base64').replace(/=+$/, '');
}

/** Accepts "SHA256:abc", "abc" and padded base64; returns "SHA256:abc". */
export function normalizeFingerprint(fp: string): string {
  const body = fp.trim().replace(/^SHA256:/i, '').replace(/=+$/, '');
  return `SHA256:${body}`;
}

export class SftpSession {
  #alive = true;
  #holds = 0;
  #idle: ReturnType<typeof setTimeout> | undefined;
  /**
   * The SSH channel windows at open (OpenSSH and ssh2 both use 2 MiB): more bytes in flight than
   * these cannot move anyway and only pile up in ssh2's send queue, which measurably slows puts.
   */
  readonly sendWindow: number;
  readonly receiveWindow: number;

  constructor(
    readonly client: InstanceType<typeof Client>,
    readonly sftp: SFTPWrapper,
    /** The real (symlink-free) remote path of the prefix. */
    readonly root: string,
    private readonly idleTimeoutMs: number,
  ) {
    this.sendWindow = sftp.sendWindow || 2 * 1024 * 1024;
    this.receiveWindow = sftp.receiveWindow || 2 * 1024 * 1024;
    const dead = (): void => this.kill();
    client.on('close', dead);
    client.on('end', dead);
    // An error after `ready` only means the connection is gone; operations learn it from their requests.
    client.on('error', dead);
    sftp.on('close', dead);
  }

  get alive(): boolean {
    return this.#alive && this.sftp.isOpen;
  }

  has(extension: string): boolean {
    return this.sftp.extensions?.[extension] !== undefined;
  }

  /** Largest READ/WRITE payload the server takes (limits@openssh.com), capped at 64 KiB per request. */
  get chunk(): number {
    return Math.max(4096, Math.min(64 * 1024, this.sftp.maxReadLength ?? 32768, this.sftp.maxWriteLength ?? 32768));
  }

  /**
   * Sends one request. It fails at once on a dead channel: ssh2 silently drops requests written to
   * a closed channel, and their callbacks would never run.
   */
  call<T>(start: (cb: Cb<T>) => void): Promise<T> {
    if (!this.alive) return Promise.reject(new ConnectionLost('sftp connection lost', undefined, false));
    return new Promise<T>((resolve, reject) => {
      try {
        start((err, value) => (err ? reject(err) : resolve(value)));
      } catch (err) {
        // ssh2 throws for an extension the server lacks or a bad argument: not a lost connection.
        reject(new AppError('io', (err as Error).message, { cause: err }));
      }
    });
  }

  /** Keeps the connection from idling out while an operation or an open file uses it. */
  hold(): void {
    this.#holds++;
    if (this.#idle) clearTimeout(this.#idle);
    this.#idle = undefined;
  }

  release(): void {
    if (--this.#holds > 0 || !this.#alive || this.idleTimeoutMs <= 0) return;
    this.#idle = setTimeout(() => this.kill(), this.idleTimeoutMs);
    this.#idle.unref?.();
  }

  kill(): void {
    if (this.#idle) clearTimeout(this.#idle);
    this.#idle = undefined;
    if (!this.#alive) return;
    this.#alive = false;
    this.client.end();
    // end() waits for the peer; a dead peer would keep the socket (and the process) around.
    setTimeout(() => this.client.destroy(), 2000).unref?.();
  }
}

export interface RunRequest<T> {
  /** For error messages. */
  op: string;
  path: string;
  /** Safe to run again on a new connection when the first one dropped under it. */
  idempotent: boolean;
  signal?: AbortSignal | undefined;
  /** Releases what the operation opened when it finished only after its signal aborted. */
  dispose?: (value: T) => unknown;
}

export class SftpPool {
  #current: SftpSession | undefined;
  #pending: Promise<SftpSession> | undefined;
  #closed = false;
  /** Extensions of the latest session, kept after it closes so capabilities stay stable. */
  last: SftpSession | undefined;

  constructor(private readonly params: ConnectParams) {}

  get endpoint(): string {
    return `${this.params.host}:${this.params.port}`;
  }

  session(): Promise<SftpSession> {
    if (this.#closed) return Promise.reject(new AppError('invalid', 'sftp backend is closed'));
    if (this.#current?.alive) return Promise.resolve(this.#current);
    this.#current = undefined;
    this.#pending ??= connectSession(this.params).then(
      (s) => {
        this.#pending = undefined;
        if (this.#closed) {
          s.kill();
          throw new AppError('invalid', 'sftp backend is closed');
        }
        this.#current = this.last = s;
        s.hold();
        s.release(); // starts the idle clock
        return s;
      },
      (err) => {
        this.#pending = undefined;
        throw err;
      },
    );
    return this.#pending;
  }

  /**
   * Runs `fn` on the current session. Errors are mapped to AppErrors; when the connection was lost
   * under an idempotent operation, the session is dropped and `fn` runs once more on a new one.
   * An aborted signal rejects at once; what `fn` opens after that is handed to `dispose`, and the
   * session stays held until `fn` has settled.
   */
  async run<T>(req: RunRequest<T>, fn: (s: SftpSession) => Promise<T>): Promise<T> {
    const { op, path, signal } = req;
    for (let attempt = 0; ; attempt++) {
      checkAborted(signal, op, path);
      const s = await raceAbort(this.session(), signal, op, path);
      s.hold();
      const work = fn(s).finally(() => s.release());
      try {
        return await raceAbort(work, signal, op, path, req.dispose);
      } catch (raw) {
        const err = sftpError(raw, op, path);
        if (err instanceof ConnectionLost) {
          s.kill();
          if ((req.idempotent || !err.sent) && attempt === 0) continue;
        }
        throw err;
      }
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    const pending = this.#pending;
    this.#current?.kill();
    this.#current = undefined;
    await pending?.then((s) => s.kill()).catch(() => undefined);
  }
}

async function connectSession(p: ConnectParams): Promise<SftpSession> {
  const client = new Client();
  const endpoint = `${p.host}:${p.port}`;
  let mismatch: string | undefined;
  await new Promise<void>((resolve, reject) => {
    let settled = false;
    const fail = (err: AppError): void => {
      if (settled) return;
      settled = true;
      client.destroy();
      reject(err);
    };
    client.once('ready', () => {
      settled = true;
      resolve();
    });
    client.on('error', (err: Error & { level?: string }) => {
      if (mismatch !== undefined)
        return fail(new AppError('permission_denied', `sftp ${endpoint}: host key ${mismatch} does not match the pinned fingerprints`, { cause: err }));
      if (err.level === 'client-authentication')
        return fail(new AppError('permission_denied', `sftp ${endpoint}: authentication failed for user ${p.username}`, { cause: err }));
      fail(new AppError('io', `sftp ${endpoint}: ${err.message}`, { cause: err }));
    });
    client.once('close', () => fail(new ConnectionLost(`sftp ${endpoint}: connection closed during handshake`)));
    const cfg: ClientConfig = {
      host: p.host,
      port: p.port,
      username: p.username,
      password: p.password,
      privateKey: p.privateKey,
      passphrase: p.passphrase,
      readyTimeout: p.readyTimeoutMs,
      keepaliveInterval: 15_000,
      keepaliveCountMax: 4,
      // Servers that only offer keyboard-interactive get the password as the answer to every prompt.
      tryKeyboard: p.password !== undefined,
      hostVerifier: (key: Buffer) => {
        if (p.fingerprints.length === 0) return true;
        const fp = hostKeyFingerprint(key);
        if (p.fingerprints.includes(fp)) return true;
        mismatch = fp;
        return false;
      },
    };
    client.on('keyboard-interactive', (_name, _instr, _lang, prompts, finish) => finish(prompts.map(() => p.password ?? '')));
    try {
      client.connect(cfg);
    } catch (err) {
      // ssh2 parses the private key inside connect() and throws on a bad key or passphrase.
      fail(new AppError('config', `sftp ${endpoint}: ${(err as Error).message}`, { cause: err }));
    }
  });

  try {
    const sftp = await new Promise<SFTPWrapper>((resolve, reject) => client.sftp((err, s) => (err ? reject(err) : resolve(s))));
    // Reads always go into our buffers and handles come copied: each socket chunk can be freed
    // once parsed instead of waiting for a collection (vendor/ssh2/README.md).
    sftp.useTransientResponseData();
    const root = await resolvePrefix(sftp, p.prefix);
    return new SftpSession(client, sftp, root, p.idleTimeoutMs);
  } catch (err) {
    client.destroy();
    throw err instanceof AppError ? err : new AppError('io', `sftp ${endpoint}: ${(err as Error).message}`, { cause: err });
  }
}

function realpath(sftp: SFTPWrapper, path: string): Promise<string> {
  return new Promise((resolve, reject) => sftp.realpath(path, (err, abs) => (err ? reject(err) : resolve(abs))));
}

/** The real path of the prefix, created (like a local home) when it does not exist yet. */
async function resolvePrefix(sftp: SFTPWrapper, prefix: string): Promise<string> {
  if (prefix === '/') return '/';
  try {
    const real = await realpath(sftp, prefix);
    // OpenSSH resolves a missing last component to itself, so check that it is really there.
    await new Promise<void>((resolve, reject) => sftp.stat(real, (err) => (err ? reject(err) : resolve())));
    return real;
  } catch (err) {
    if (statusOf(err) !== FX.NO_SUCH_FILE) throw sftpError(err, 'prefix', prefix);
  }
  let dir = prefix.startsWith('/') ? '/' : '';
  for (const part of prefix.split('/').filter(Boolean)) {
    dir = dir ? posix.join(dir, part) : part;
    await new Promise<void>((resolve) => sftp.mkdir(dir, { mode: 0o755 }, () => resolve()));
  }
  try {
    return await realpath(sftp, prefix);
  } catch (err) {
    throw sftpError(err, 'prefix', prefix);
  }
}
