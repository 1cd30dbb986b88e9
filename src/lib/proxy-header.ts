// The PROXY protocol header (HAProxy's proxy-protocol.txt, versions 1 and 2) that a load balancer
// puts in front of a TCP stream to tell the server who the real client is. Pure parsing over the
// bytes received so far: the caller feeds what it has read and is told to read more, that there
// is no header, the header and its length (the protocol's stream starts right after), or why the
// bytes are not a valid header. No I/O and no project imports.
import { isIPv4, isIPv6 } from 'node:net';
import { compressGroups, longestZeroRun } from './cidr.ts';

/** "PROXY " */
const V1_SIGNATURE = Buffer.from('PROXY ', 'latin1');
const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
/** The longest v1 line, CRLF included (the specification's bound). */
export const V1_MAX_LENGTH = 107;
const V2_FIXED = 16;
/** The largest v2 header accepted by default: addresses plus a generous set of TLVs. */
export const V2_DEFAULT_MAX_LENGTH = 4096;

export interface ProxyEndpoint {
  address: string;
  port: number;
}

export interface ProxyTlv {
  type: number;
  value: Buffer;
}

export interface ProxyHeader {
  version: 1 | 2;
  /** 'local': the proxy's own connection (health check); the socket's addresses stand. */
  command: 'proxy' | 'local';
  /** Set for TCP/UDP over IPv4 or IPv6; absent for UNKNOWN, UNSPEC and unix sockets. */
  source?: ProxyEndpoint;
  destination?: ProxyEndpoint;
  tlvs: ProxyTlv[];
}

export type HeaderRead =
  | { kind: 'more' }
  | { kind: 'none' }
  | { kind: 'header'; header: ProxyHeader; length: number }
  | { kind: 'invalid'; reason: string };

/** Reads a header at the start of `buf`; `maxLength` bounds a v2 header (v1 has its own bound). */
export function readProxyHeader(buf: Buffer, maxLength = V2_DEFAULT_MAX_LENGTH): HeaderRead {
  if (startsLike(buf, V1_SIGNATURE)) return buf.length < V1_SIGNATURE.length ? { kind: 'more' } : readV1(buf);
  if (startsLike(buf, V2_SIGNATURE)) return buf.length < V2_SIGNATURE.length ? { kind: 'more' } : readV2(buf, maxLength);
  return { kind: 'none' };
}

/** Whether the bytes so far agree with `sig` (an empty buffer agrees with anything). */
function startsLike(buf: Buffer, sig: Buffer): boolean {
  const n = Math.min(buf.length, sig.length);
  return buf.subarray(0, n).equals(sig.subarray(0, n));
}

function readV1(buf: Buffer): HeaderRead {
  const end = buf.subarray(0, V1_MAX_LENGTH).indexOf('\r\n', 0, 'latin1');
  if (end < 0) return buf.length >= V1_MAX_LENGTH ? { kind: 'invalid', reason: 'v1 header longer than 107 bytes' } : { kind: 'more' };
  const length = end + 2;
  const line = buf.subarray(0, end).toString('latin1');
  const parts = line.split(' ');
  const proto = parts[1];
  // UNKNOWN may carry anything after it; the receiver ignores it and keeps the socket's addresses.
  if (proto === 'UNKNOWN') return { kind: 'header', length, header: { version: 1, command: 'proxy', tlvs: [] } };
  if ((proto !== 'TCP4' && proto !== 'TCP6') || parts.length !== 6) return { kind: 'invalid', reason: `malformed v1 header "${printable(line)}"` };
  const [, , src, dst, sport, dport] = parts as [string, string, string, string, string, string];
  const family = proto === 'TCP4' ? isIPv4 : isIPv6;
  const sp = port(sport);
  const dp = port(dport);
  if (!family(src) || !family(dst) || sp === undefined || dp === undefined) return { kind: 'invalid', reason: `malformed v1 header "${printable(line)}"` };
  return { kind: 'header', length, header: { version: 1, command: 'proxy', source: { address: src, port: sp }, destination: { address: dst, port: dp }, tlvs: [] } };
}

function port(text: string): number | undefined {
  if (!/^(0|[1-9]\d{0,4})$/.test(text)) return undefined;
  const n = Number(text);
  return n <= 65535 ? n : undefined;
}

function printable(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, '?').slice(0, 120);
}

function readV2(buf: Buffer, maxLength: number): HeaderRead {
  if (buf.length < V2_FIXED) return { kind: 'more' };
  const verCmd = buf[12]!;
  if (verCmd >> 4 !== 2) return { kind: 'invalid', reason: `v2 header with version ${verCmd >> 4}` };
  const cmd = verCmd & 0x0f;
  if (cmd > 1) return { kind: 'invalid', reason: `v2 header with command ${cmd}` };
  const fam = buf[13]!;
  const payload = buf.readUInt16BE(14);
  const length = V2_FIXED + payload;
  if (length > maxLength) return { kind: 'invalid', reason: `v2 header of ${length} bytes (limit ${maxLength})` };
  if (buf.length < length) return { kind: 'more' };
  const body = buf.subarray(V2_FIXED, length);
  const addressFamily = fam >> 4;
  const transport = fam & 0x0f;
  if (addressFamily > 3 || transport > 2) return { kind: 'invalid', reason: `v2 header with address family 0x${fam.toString(16)}` };
  // Bytes taken by the addresses: IPv4 4+4+2+2, IPv6 16+16+2+2, unix 108+108.
  const addrLength = [0, 12, 36, 216][addressFamily]!;
  if (body.length < addrLength) return { kind: 'invalid', reason: `v2 header too short for its address family` };
  const tlvs = readTlvs(body.subarray(addrLength));
  if (!tlvs) return { kind: 'invalid', reason: 'v2 header with malformed TLVs' };
  const header: ProxyHeader = { version: 2, command: cmd === 0 ? 'local' : 'proxy', tlvs };
  // Only TCP and UDP over IP name a client this server can use; unix and UNSPEC keep the socket's.
  if (cmd === 1 && transport !== 0 && (addressFamily === 1 || addressFamily === 2)) {
    const v4 = addressFamily === 1;
    const size = v4 ? 4 : 16;
    const ip = (at: number) => (v4 ? ipv4(body.subarray(at, at + 4)) : ipv6(body.subarray(at, at + 16)));
    header.source = { address: ip(0), port: body.readUInt16BE(2 * size) };
    header.destination = { address: ip(size), port: body.readUInt16BE(2 * size + 2) };
  }
  return { kind: 'header', length, header };
}

function readTlvs(b: Buffer): ProxyTlv[] | undefined {
  const out: ProxyTlv[] = [];
  let at = 0;
  while (at < b.length) {
    if (b.length - at < 3) return undefined;
    const len = b.readUInt16BE(at + 1);
    if (at + 3 + len > b.length) return undefined;
    out.push({ type: b[at]!, value: Buffer.from(b.subarray(at + 3, at + 3 + len)) });
    at += 3 + len;
  }
  return out;
}

function ipv4(b: Buffer): string {
  return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
}

/** The compressed text form, as the socket API prints addresses. */
function ipv6(b: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
  const run = longestZeroRun(groups);
  // An IPv4-mapped address keeps its dotted tail, as sockets report it.
  if (run?.start === 0 && run.length === 5 && groups[5] === 'ffff') return `::ffff:${ipv4(b.subarray(12))}`;
  return compressGroups(groups);
}
