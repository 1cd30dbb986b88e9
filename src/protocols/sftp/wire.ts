// The two places the SFTP front-end reaches below ssh2's public API, kept together so they can move
// into the ssh2 import point (src/lib/ssh2.ts) when it grows them: advertising extensions
// in the server's VERSION packet, and sending SSH_FXP_EXTENDED_REPLY, neither of which ssh2's
// server side offers.
import type { SFTPWrapper } from '../../lib/ssh2.ts';

interface SftpInternals {
  outgoing: { id: number; window: number; packetSize: number; state: string };
  _buffer: unknown[];
  _protocol: { channelData(id: number, data: Buffer): void };
}

const FXP_VERSION = 2;
const FXP_EXTENDED_REPLY = 201;

function sshString(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  const len = Buffer.allocUnsafe(4);
  len.writeUInt32BE(b.length, 0);
  return Buffer.concat([len, b]);
}

/**
 * Makes the VERSION reply to the client's INIT carry `extensions` (name → data). Call right after
 * accepting the subsystem, before the client's INIT is processed.
 */
export function advertiseExtensions(sftp: SFTPWrapper, extensions: Record<string, string>): void {
  const s = sftp as unknown as SftpInternals;
  const proto = s._protocol;
  const original = proto.channelData;
  const body = Buffer.concat(Object.entries(extensions).flatMap(([k, v]) => [sshString(k), sshString(v)]));
  const patched = function (this: unknown, id: number, data: Buffer): void {
    if (id === s.outgoing.id && data.length === 9 && data[4] === FXP_VERSION) {
      // Restore first: the protocol object is shared by every channel of the connection.
      proto.channelData = original;
      const out = Buffer.allocUnsafe(9 + body.length);
      data.copy(out, 0);
      body.copy(out, 9);
      out.writeUInt32BE(out.length - 4, 0);
      // ssh2 charged the channel window for 9 bytes; charge the rest so its accounting stays true.
      s.outgoing.window -= body.length;
      return original.call(proto, id, out);
    }
    return original.call(proto, id, data);
  };
  proto.channelData = patched;
}

/**
 * Sends SSH_FXP_EXTENDED_REPLY. Only when it can go out at once (window open, nothing queued):
 * replies are tiny, so the fallback of reporting failure is practically never taken.
 */
export function sendExtendedReply(sftp: SFTPWrapper, reqId: number, payload: Buffer): boolean {
  const s = sftp as unknown as SftpInternals;
  const out = Buffer.allocUnsafe(9 + payload.length);
  out.writeUInt32BE(out.length - 4, 0);
  out[4] = FXP_EXTENDED_REPLY;
  out.writeUInt32BE(reqId, 5);
  payload.copy(out, 9);
  const o = s.outgoing;
  if (o.state !== 'open' || s._buffer.length > 0 || o.window < out.length || out.length > o.packetSize) return false;
  o.window -= out.length;
  s._protocol.channelData(o.id, out);
  return true;
}

/** The channel's maximum packet as the client declared it: a reply must fit one SSH packet. */
export function outgoingPacketSize(sftp: SFTPWrapper): number {
  return (sftp as unknown as SftpInternals).outgoing.packetSize;
}

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
  const openssh = (sftp as unknown as { _isOpenSSH?: boolean })._isOpenSSH === true;
  return openssh ? { link: first, target: second } : { target: first, link: second };
}
