// The FTP control channel's text, parsed: lines out of the byte stream (Telnet IAC sequences
// removed), the verb and its argument, and the arguments that carry numbers and addresses
// (PORT, EPRT, REST). Pure functions with no I/O, shared by the session and the command table.
import { isIPv4, isIPv6 } from 'node:net';

/** The longest partial line kept while waiting for its newline. */
export const MAX_LINE = 8192;

/**
 * Drops Telnet commands (IAC ...) from a control line; IAC IAC is a literal 0xff. An IAC before a
 * byte that is no Telnet command is dropped alone: clients abort with IAC IP, then IAC DM sent as
 * TCP urgent data, and the DM byte is taken out of the stream, so the IAC is followed by "ABOR".
 */
export function stripTelnet(b: Buffer): Buffer {
  if (!b.includes(0xff)) return b;
  const out: number[] = [];
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    const next = b[i + 1];
    if (c !== 0xff) out.push(c);
    else if (next === 0xff) (out.push(0xff), i++);
    // Commands are 240-254; WILL, WONT, DO, DONT (251-254) carry an option byte.
    else if (next !== undefined && next >= 0xf0) i += next >= 0xfb ? 2 : 1;
  }
  return Buffer.from(out);
}

/**
 * The complete lines in `buf` (LF or CRLF ended) and the bytes after the last one. When the
 * unfinished rest goes past MAX_LINE its bytes are dropped and `skipping` is set: the end of that
 * line, when it comes (pass `skipping` back in), is dropped too rather than run as a command.
 * `tooLong` is set once per overlong line, however many chunks it spans: one 500 to answer.
 */
export function takeLines(buf: Buffer, o: { skipping?: boolean } = {}): { lines: string[]; rest: Buffer; tooLong: boolean; skipping: boolean } {
  const lines: string[] = [];
  let skipping = o.skipping ?? false;
  let rest = buf;
  let nl: number;
  while ((nl = rest.indexOf(0x0a)) >= 0) {
    if (skipping) skipping = false;
    else lines.push(stripTelnet(rest.subarray(0, nl)).toString('utf8').replace(/\r$/, ''));
    rest = rest.subarray(nl + 1);
  }
  if (rest.length > MAX_LINE) return { lines, rest: Buffer.alloc(0), tooLong: !skipping, skipping: true };
  return { lines, rest, tooLong: false, skipping };
}

/** `VERB arg`: the verb upper-cased, the argument as sent after the first space. */
export function splitCommand(line: string): { verb: string; arg: string } {
  const sp = line.indexOf(' ');
  return { verb: (sp < 0 ? line : line.slice(0, sp)).trim().toUpperCase(), arg: sp < 0 ? '' : line.slice(sp + 1) };
}

export type ActiveTarget = { host: string; port: number } | { code: number; message: string };

/** PORT h1,h2,h3,h4,p1,p2 or EPRT |af|addr|port|: the address and port, or the reply refusing them. */
export function parseActiveTarget(arg: string, extended: boolean): ActiveTarget {
  let host: string;
  let port: number;
  if (extended) {
    const d = arg.trim()[0] ?? '|';
    const [, af, addr = '', portText = ''] = arg.trim().split(d);
    host = addr;
    port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
    if ((af === '1' && !isIPv4(host)) || (af === '2' && !isIPv6(host)) || (af !== '1' && af !== '2'))
      return { code: 522, message: 'Network protocol not supported, use (1,2)' };
  } else {
    const fields = arg.trim().split(',');
    if (fields.length !== 6 || fields.some((f) => !/^\s*\d{1,3}\s*$/.test(f))) return { code: 501, message: 'Syntax error in PORT' };
    const parts = fields.map(Number);
    if (parts.some((n) => n > 255)) return { code: 501, message: 'Syntax error in PORT' };
    host = parts.slice(0, 4).join('.');
    port = parts[4]! * 256 + parts[5]!;
  }
  if (!Number.isInteger(port) || port < 1024 || port > 65535) return { code: 504, message: 'Refused: port out of range' };
  return { host, port };
}

/** REST's byte offset; undefined unless it is a plain non-negative integer. */
export function parseRestOffset(arg: string): number | undefined {
  const t = arg.trim();
  if (!/^\d+$/.test(t)) return undefined;
  const n = Number(t);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** `LIST -la dir` and friends: leading option words are dropped (ls flags mean nothing here). */
export function listTarget(arg: string): string {
  let rest = arg.trim();
  while (/^-[A-Za-z]+(\s|$)/.test(rest)) rest = rest.replace(/^-[A-Za-z]+\s*/, '');
  return rest;
}
