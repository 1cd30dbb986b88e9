// SFTP client helpers for cluster runs (ssh2, in-process): a session from a chosen loopback
// source address with a deadline, pipelined uploads with an acknowledgement callback, whole-file
// downloads, and a login probe that answers true or false instead of throwing.
import { createHash } from 'node:crypto';
import { Client, type SFTPWrapper } from '../../src/lib/ssh2.ts';

export interface SessionOptions {
  port: number;
  user: string;
  password: string;
  /** The client's source address (127.0.0.x), so the server (through PROXY v2) sees distinct hosts. */
  localAddress?: string;
  readyTimeout?: number;
}

export interface Session {
  client: InstanceType<typeof Client>;
  sftp: SFTPWrapper;
  /** Rejects when the connection drops before `end()`: lets a transfer fail at once, not hang. */
  closed: Promise<never>;
  end(): void;
}

export function openSession(o: SessionOptions): Promise<Session> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    let ended = false;
    let dropped: (err: Error) => void = () => undefined;
    const closed = new Promise<never>((_, rej) => (dropped = rej));
    closed.catch(() => undefined);
    client.on('error', (err) => (reject(err), dropped(err)));
    client.on('close', () => {
      const err = new Error('connection closed');
      reject(err);
      if (!ended) dropped(err);
    });
    client.once('ready', () =>
      client.sftp((err, sftp) =>
        err
          ? reject(err)
          : resolve({ client, sftp, closed, end: () => ((ended = true), client.end()) }),
      ),
    );
    client.connect({ host: '127.0.0.1', port: o.port, username: o.user, password: o.password, localAddress: o.localAddress, readyTimeout: o.readyTimeout ?? 20_000 });
  });
}

const p = <T>(fn: (cb: (err: Error | null | undefined, v: T) => void) => void): Promise<T> =>
  new Promise((res, rej) => fn((err, v) => (err ? rej(err) : res(v))));

const CHUNK = 32 * 1024;
const IN_FLIGHT = 8;

/** Uploads `data` to `path`: up to 8 writes in flight, then close (whose answer commits on S3). */
export async function upload(s: Session, path: string, data: Buffer, onAck: (bytes: number) => void = () => undefined): Promise<void> {
  const run = async (): Promise<void> => {
    const h = await p<Buffer>((cb) => s.sftp.open(path, 'w', cb));
    let next = 0;
    const writer = async (): Promise<void> => {
      while (next < data.length) {
        const at = next;
        const n = Math.min(CHUNK, data.length - at);
        next += n;
        await p<void>((cb) => s.sftp.write(h, data, at, n, at, (err) => cb(err, undefined)));
        onAck(n);
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, writer));
    await p<void>((cb) => s.sftp.close(h, (err) => cb(err, undefined)));
  };
  await Promise.race([run(), s.closed]);
}

/** The SHA-256 of a remote file, read whole. */
export async function remoteSha256(s: Session, path: string): Promise<{ sha256: string; size: number }> {
  const data = await Promise.race([p<Buffer>((cb) => s.sftp.readFile(path, cb)), s.closed]);
  return { sha256: createHash('sha256').update(data).digest('hex'), size: data.length };
}

/** True when the user logs in (and gets an SFTP channel), false on any refusal or error. */
export async function canLogin(o: SessionOptions): Promise<boolean> {
  try {
    const s = await openSession({ readyTimeout: 10_000, ...o });
    s.end();
    return true;
  } catch {
    return false;
  }
}

/** Rejects with `deadline: <what>` after `ms`, so a stuck client fails instead of hanging the run. */
export function withDeadline<T>(ms: number, what: string, work: Promise<T>, onTimeout: () => void = () => undefined): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, rej) => {
    timer = setTimeout(() => (onTimeout(), rej(new Error(`deadline: ${what} after ${ms} ms`))), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
