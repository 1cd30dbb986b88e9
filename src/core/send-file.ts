// Downloads sent straight from storage to a plain TCP socket (sendfile): the bytes go from the page
// cache to the socket inside the kernel and never enter this process. Used by FTP's RETR and
// WebDAV's GET where the storage offers it (the local backend under Bun on Linux: FileReader.sendTo)
// and the socket is plain TCP; everything else reads into buffers and writes them.
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { socketFd } from '../runtime.ts';
import type { Download } from './transfers.ts';

/** Most bytes handed to the kernel per sendfile call: one bounded synchronous step, as a storage read is. */
export const SENDFILE_CHUNK = 1024 * 1024;

/**
 * Most bytes sent by sendfile between two bytes through the socket: a client that keeps up would
 * otherwise never see the loop yield to other connections, nor the socket's counters move (the
 * HTTP deadlines read them as progress).
 */
const RUN_MAX = 8 * SENDFILE_CHUNK;

/** The socket closed or failed while a file was being sent to it. */
export class SocketClosed extends Error {}

/** Whether `download` can be sent to `s` with sendFile (the storage and the socket allow it). */
export function canSendFile(s: Duplex, download: Download): boolean {
  return download.direct && socketFd(s) !== undefined;
}

/**
 * Sends bytes `start` to `end` (inclusive; to the end of the file when Infinity) of `download` to
 * `s` with sendfile; check canSendFile first. Resolves the count sent, less than asked only when
 * the file ended first. Bytes handed to the kernel directly must not overtake bytes queued in the
 * socket, so they go only while its queue is empty: the first byte (behind whatever the socket
 * still holds, such as an HTTP response head) and, each time the kernel's buffer is full, the next
 * one go through the socket itself, which queues the byte and calls back once the kernel took it
 * (the wake-up that sendfile alone lacks). A closed socket rejects with SocketClosed.
 */
export async function sendFile(s: Duplex, download: Download, start: number, end = Infinity): Promise<number> {
  const one = Buffer.alloc(1);
  const idleMs = (s as Socket).timeout;
  let pos = start;
  let viaSocket = true;
  let run = 0;
  /** The buffer of a range read instead of sent; the socket is done with it once written() resolves. */
  let cold: Buffer | undefined;
  while (pos <= end) {
    if (viaSocket || run >= RUN_MAX) {
      if ((await download.read(one, pos)) === 0) break;
      pos += 1;
      await written(s, Buffer.from(one));
      // A write the kernel took at once may call back before other connections had a turn.
      if (!viaSocket) await new Promise((resolve) => setImmediate(resolve));
      viaSocket = false;
      run = 0;
      continue;
    }
    // Checked right before the call, nothing awaited in between: a destroyed socket's descriptor
    // number may already belong to another file or connection.
    const fd = s.destroyed ? undefined : socketFd(s);
    if (fd === undefined) throw new SocketClosed('connection closed');
    let n: number;
    try {
      n = await download.sendTo(fd, pos, Math.min(SENDFILE_CHUNK, end - pos + 1));
    } catch (err) {
      if (s.destroyed || isSocketError(err)) throw new SocketClosed(String((err as Error).message));
      throw err;
    }
    if (n === 0) break;
    if (n === -2) {
      // Not in the page cache: read through the thread pool, as every other download does, so
      // the disk keeps no other connection waiting; the next range is most likely read ahead.
      cold ??= Buffer.allocUnsafeSlow(SENDFILE_CHUNK);
      const got = await download.read(cold.subarray(0, Math.min(SENDFILE_CHUNK, end - pos + 1)), pos);
      if (got === 0) break;
      pos += got;
      await written(s, cold.subarray(0, got));
      continue;
    }
    if (n > 0) {
      pos += n;
      run += n;
      // The socket saw no write of its own: its idle timer would run out mid-transfer.
      if (idleMs) (s as Socket).setTimeout(idleMs);
      continue;
    }
    viaSocket = true;
  }
  return pos - start;
}

function isSocketError(err: unknown): boolean {
  const code = ((err as { cause?: { code?: string } }).cause ?? (err as { code?: string }))?.code;
  return code === 'EPIPE' || code === 'ECONNRESET';
}

/** Resolves once the socket handed `chunk` to the kernel; a closed or failing socket rejects with SocketClosed. */
function written(s: Duplex, chunk: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    const onClose = (): void => done(new SocketClosed('connection closed'));
    const done = (err?: Error): void => {
      s.off('close', onClose);
      if (err) reject(err);
      else resolve();
    };
    if (s.destroyed) return done(new SocketClosed('connection closed'));
    s.once('close', onClose);
    s.write(chunk, (err) => done(err ? new SocketClosed(err.message) : undefined));
  });
}
