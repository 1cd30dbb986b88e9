// Fuzz target: the FTP control channel's parsing (src/protocols/ftp/parse.ts and the argument
// parsers beside it): line framing with Telnet IAC removal, verb and argument, PORT/EPRT, REST,
// LIST options, MFMT times and COMB argument lists. The input is the byte stream a client sends;
// every line it frames is also parsed as each kind of argument.
import { isIP, isIPv4 } from 'node:net';
import { listTarget, MAX_LINE, parseActiveTarget, parseRestOffset, splitCommand, takeLines } from '../../../src/protocols/ftp/parse.ts';
import { parseFtpTime } from '../../../src/protocols/ftp/listing.ts';
import { splitCombArgs } from '../../../src/protocols/ftp/combine.ts';
import { check, isString, type FuzzTarget } from '../target.ts';

function argument(arg: string): void {
  for (const extended of [false, true]) {
    const t = parseActiveTarget(arg, extended);
    if ('code' in t) {
      check([501, 504, 522].includes(t.code) && t.message.length > 0, `refusal ${t.code}`);
    } else {
      check(Number.isInteger(t.port) && t.port >= 1024 && t.port <= 65535, `port ${t.port}`);
      check(extended ? isIP(t.host) !== 0 : isIPv4(t.host), `host ${t.host}`);
    }
  }
  const rest = parseRestOffset(arg);
  if (rest !== undefined) check(Number.isSafeInteger(rest) && rest >= 0 && String(rest) === arg.trim().replace(/^0+(?=\d)/, ''), `REST ${rest} from ${arg}`);
  const list = listTarget(arg);
  check(isString(list) && list === list.trim() && !/^-[A-Za-z]+(\s|$)/.test(list), `LIST target ${list}`);
  const sp = arg.indexOf(' ');
  if (sp > 0) {
    const when = parseFtpTime(arg.slice(0, sp));
    if (when !== undefined) check(Number.isFinite(when), `MFMT time ${when}`);
  }
  const comb = splitCombArgs(arg);
  if (comb) for (const n of comb) check(isString(n) && arg.includes(n), `COMB name ${n} is part of the argument`);
}

export const target: FuzzTarget = {
  name: 'ftp-command',
  maxLen: 1024 * 10,
  dictionary: [
    'USER ', 'PASS ', 'PORT ', 'EPRT ', 'REST ', 'MLST ', 'MLSD', 'LIST -la ', 'NLST ', 'MFMT ', 'COMB ', 'RETR ', 'STOR ', 'APPE ', 'SITE CHMOD ', 'OPTS UTF8 ON', 'AUTH TLS', 'EPSV ALL', 'PASV', 'FEAT', 'QUIT',
    '\r\n', '\n', '|1|127.0.0.1|1025|', '|2|::1|65535|', '127,0,0,1,4,1', '255,255,255,255,255,255', '20261203120000', '20261203120000.123', '"a b"',
    Buffer.from([0xff, 0xf4]), Buffer.from([0xff, 0xff]), Buffer.from([0xff, 0xfb, 0x01]), Buffer.from([0xff, 0xf2]),
  ],
  run(data) {
    // Framing in two pieces, as it may arrive: the lines must be the same as in one piece.
    const whole = takeLines(data);
    const cut = data.length >> 1;
    const first = takeLines(data.subarray(0, cut));
    const second = first.tooLong ? undefined : takeLines(Buffer.concat([first.rest, data.subarray(cut)]));
    if (second && !second.tooLong && !whole.tooLong) check(JSON.stringify([...first.lines, ...second.lines]) === JSON.stringify(whole.lines), 'the same lines however the bytes arrive');
    check(whole.rest.length <= MAX_LINE && !whole.rest.includes(0x0a), 'the rest is one unfinished line');
    check(whole.lines.length === data.filter((b) => b === 0x0a).length, 'one line per newline');
    for (const line of whole.lines) {
      check(!line.includes('\n'), 'a line holds no newline');
      const { verb, arg } = splitCommand(line);
      check(verb === verb.trim() && verb === verb.toUpperCase() && !verb.includes(' '), `verb ${verb}`);
      check(line.startsWith(arg) || line.endsWith(arg), 'the argument is part of the line');
      argument(arg);
    }
  },
};
