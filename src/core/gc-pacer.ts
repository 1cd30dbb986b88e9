// Garbage collection paced by transferred bytes (where the runtime offers a full collection: Bun). Every READ and WRITE leaves a buffer
// behind, and the cloud SDKs leave whole parts; Bun's collector, which sees little of that memory,
// runs late, and with MIMALLOC_PURGE_DELAY=-1 (runtime.ts) the pages it finally frees are kept, so
// the process grew with the size of the files it moved: measured peak RSS 341 -> 675 MiB for a
// 64 -> 512 MiB file through SFTP to S3, 360 -> 509 MiB for an encrypted local file. A full
// collection after every `everyBytes` moved keeps the garbage between collections bounded: with a
// full collection every 250 ms in the same run, 300 -> 404 and 272 -> 360 MiB, at unchanged speed.
// Bytes of transfers that already ended count too: many small files (each done between two checks)
// never showed up in the open transfers' sum, so 200 SFTP sessions moving 64 KiB files grew RSS
// from 75 to 383 MiB in 5 minutes with no collection at all. Idle servers, transfers that do
// not move data, and transfers whose front-end frees every buffer itself (Transfer.paced false:
// plain FTP data connections) trigger nothing.
import type { ConnectionRegistry } from './connection.ts';
import { fullCollection } from '../runtime.ts';

export const GC_EVERY_BYTES = 32 * 1024 * 1024;
const CHECK_MS = 100;

export interface GcPacerOptions {
  everyBytes?: number;
  /** The server whose open transfers set the pace. */
  registry: ConnectionRegistry;
  /** Bytes moved by paced transfers that have ended (the metrics' sizes less the unpaced bytes). */
  endedBytes?: () => number;
  /** Defaults to a synchronous full collection under Bun; nothing elsewhere. */
  collect?: () => void;
}

/** Bytes moved so far by the transfers open right now, but those that free their own buffers. */
export function openTransferBytes(registry: ConnectionRegistry): number {
  let n = 0;
  for (const c of registry.list()) for (const t of c.transfers) if (t.paced !== false) n += t.bytes;
  return n;
}

/** Starts the pacer; returns its stop function. The timer never keeps the process alive. */
export function startGcPacer(opts: GcPacerOptions): () => void {
  const collect = opts.collect ?? fullCollection();
  if (!collect) return () => undefined;
  const registry = opts.registry;
  const ended = opts.endedBytes ?? (() => 0);
  // SFTPGO_GC_PACE_MB tunes the pace (0 turns the pacer off), for measuring the trade-off.
  const fromEnv = Number(process.env.SFTPGO_GC_PACE_MB);
  const every = opts.everyBytes ?? (process.env.SFTPGO_GC_PACE_MB !== undefined && Number.isFinite(fromEnv) ? fromEnv * 2 ** 20 : GC_EVERY_BYTES);
  if (every <= 0) return () => undefined;
  let last = 0;
  const timer = setInterval(() => {
    const now = ended() + openTransferBytes(registry);
    // A transfer ending between the two reads can make the sum dip: count again from there.
    if (now < last) last = now;
    if (now - last < every) return;
    last = now;
    collect();
  }, CHECK_MS);
  timer.unref?.();
  return () => clearInterval(timer);
}
