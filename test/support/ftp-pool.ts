// Logged-in FTP control connections (FtpControl) lent out one per operation, for the test-side
// FTP Fs; and what FTP reply codes mean as errors when nothing more is known. A connection given
// back mid-transfer or broken is closed and replaced, never lent again.
import { AppError, type ErrorCode } from '../../src/errors.ts';
import { FtpControl, type FtpReply } from './ftp-client.ts';

export interface FtpPoolOptions {
  port: number;
  username: string;
  password: string;
  /** Control connections kept at most (default 8); more callers wait for one. */
  maxConnections?: number;
}

/** What a reply code says when nothing more is known about the path. */
function codeOfReply(code: number): ErrorCode {
  if (code === 530 || code === 532 || code === 534 || code === 450 || code === 550) return 'permission_denied';
  if (code === 552) return 'quota_exceeded';
  if (code === 501 || code === 553) return 'invalid';
  if (code === 502 || code === 504) return 'unsupported';
  return 'io';
}

export function replyError(what: string, r: FtpReply, code: ErrorCode = codeOfReply(r.code)): AppError {
  return new AppError(code, `${what}: ${r.code} ${r.text}`);
}

export function expectReply(what: string, r: FtpReply, ok: (code: number) => boolean): FtpReply {
  if (!ok(r.code)) throw replyError(what, r);
  return r;
}

export const isPreliminary = (code: number): boolean => code === 125 || code === 150;
export const isDone = (code: number): boolean => code >= 200 && code < 300;

/** Logged-in control connections; one is lent to each operation. */
export class FtpPool {
  #idle: FtpControl[] = [];
  #open = 0;
  #waiting: ((c: Promise<FtpControl>) => void)[] = [];
  #closed = false;

  constructor(private readonly opts: FtpPoolOptions) {}

  async #connect(): Promise<FtpControl> {
    const c = await FtpControl.connect(this.opts.port);
    try {
      expectReply('login', await c.login(this.opts.username, this.opts.password), (code) => code === 230);
      expectReply('TYPE I', await c.send('TYPE I'), isDone);
      return c;
    } catch (err) {
      c.close();
      throw err;
    }
  }

  acquire(): Promise<FtpControl> {
    if (this.#closed) return Promise.reject(new AppError('io', 'ftp: closed'));
    // The server may have closed an idle connection (its idle timeout) since it came back.
    for (let idle = this.#idle.pop(); idle; idle = this.#idle.pop()) {
      if (!idle.closed) return Promise.resolve(idle);
      this.#open--;
    }
    if (this.#open < (this.opts.maxConnections ?? 8)) return this.#opened();
    return new Promise((resolve) => this.#waiting.push((c) => resolve(c)));
  }

  #opened(): Promise<FtpControl> {
    this.#open++;
    return this.#connect().catch((err: unknown) => {
      this.#open--;
      throw err;
    });
  }

  /**
   * Back to the pool; one left mid-transfer or broken (`reusable` false) is closed and makes room
   * for a new one.
   */
  release(c: FtpControl, reusable = true): void {
    if (!reusable || c.closed || this.#closed) {
      c.close();
      this.#open--;
      const w = this.#waiting.shift();
      if (w) w(this.#opened());
      return;
    }
    const w = this.#waiting.shift();
    if (w) w(Promise.resolve(c));
    else this.#idle.push(c);
  }

  /** Runs `fn` on a connection; an error reply leaves it usable, anything else closes it. */
  async use<T>(fn: (c: FtpControl) => Promise<T>): Promise<T> {
    const c = await this.acquire();
    let reusable = false;
    try {
      const out = await fn(c);
      reusable = true;
      return out;
    } catch (err) {
      reusable = err instanceof AppError;
      throw err;
    } finally {
      this.release(c, reusable);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const c of this.#idle.splice(0)) {
      await c.send('QUIT').catch(() => undefined);
      c.close();
    }
  }
}

