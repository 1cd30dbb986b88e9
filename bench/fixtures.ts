// What the SFTP benchmarks move: a client key and a large file of deterministic, incompressible
// bytes (so every run and every build transfers the same data), written once per bench run.
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, statfsSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** An ed25519 client key in `dir` (made when missing): its path and its public key line. */
export function clientKey(dir: string): { key: string; pub: string } {
  const key = join(dir, 'client_key');
  if (!existsSync(key)) spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  return { key, pub: readFileSync(`${key}.pub`, 'utf8').trim() };
}

/** Writes `sizeMb` MiB of the benchmarks' pattern to `path`, a MiB at a time. */
export function writeBigFile(path: string, sizeMb: number): void {
  const fd = openSync(path, 'w');
  const block = Buffer.alloc(1 << 20);
  for (let i = 0; i < sizeMb; i++) {
    for (let j = 0; j < block.length; j += 4) block.writeUInt32LE((i * 2654435761 + j * 40503) >>> 0, j);
    writeSync(fd, block);
  }
  closeSync(fd);
}

/**
 * Whether /dev/shm (tmpfs) exists with room for `bytes` and 64 MiB besides: a container's is often
 * 64 MiB in all, and a download that fills it fails the run.
 */
export function roomInShm(bytes: number): boolean {
  try {
    const st = statfsSync('/dev/shm');
    return st.bavail * st.bsize >= bytes + 64 * 2 ** 20;
  } catch {
    return false;
  }
}
