// SFTP wire details of the front-end: uint64 lists for extended replies, and SYMLINK's argument
// order (read through the fork's API, vendor/ssh2/README.md).
import type { SFTPWrapper } from '../../lib/ssh2.ts';

export function uint64s(values: readonly number[]): Buffer {
  const b = Buffer.allocUnsafe(8 * values.length);
  values.forEach((v, i) => b.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(v))), i * 8));
  return b;
}

/**
 * SYMLINK's (target, link). Practically every client (OpenSSH, and pkg/sftp behind rclone) sends
 * them in OpenSSH's order, target first, the reverse of the draft. ssh2 swaps them back only for
 * clients whose version string says OpenSSH, so undo that and read the wire order as OpenSSH's.
 */
export function symlinkArgs(sftp: SFTPWrapper, first: string, second: string): { target: string; link: string } {
  return sftp.peerIsOpenSSH ? { link: first, target: second } : { target: first, link: second };
}
