// The FTP command table: what each verb needs (login, an argument) and what it does. Session and
// data-channel commands live here; file commands in file-commands.ts.
import { isIPv4 } from 'node:net';
import { comb } from './combine.ts';
import { DataChannel } from './data.ts';
import * as files from './file-commands.ts';
import { passiveAddress, plainIp } from './passive.ts';
import { quotePath } from './replies.ts';
import { parseActiveTarget, parseRestOffset } from './parse.ts';
import type { FtpSession } from './session.ts';

export interface Command {
  run(s: FtpSession, arg: string): void | Promise<void>;
  /** false: allowed before login. */
  login?: false;
  needsArg?: boolean;
  /** Creates a name: an unusable one is 553. */
  naming?: boolean;
}

/** Answered even while a transfer runs (everything else waits for it). */
export const IMMEDIATE: ReadonlySet<string> = new Set(['ABOR', 'STAT', 'NOOP']);

function hashEnabled(s: FtpSession): boolean {
  return (s.host.ftpd.hash_support ?? 0) > 0;
}

function features(s: FtpSession): string[] {
  const f = ['UTF8', 'SIZE', 'MDTM', 'MFMT', 'REST STREAM', 'MLST type*;size*;sizd*;modify*;perm*;UNIX.mode*;UNIX.uid*;UNIX.gid*;', 'EPSV', 'EPRT', 'TVFS', 'CLNT'];
  if (s.host.tlsContext()) f.push('AUTH TLS', 'PBSZ', 'PROT');
  if (hashEnabled(s)) f.push(`HASH ${files.HASH_NAMES.map((n) => (n === s.hashAlgo ? `${n}*` : n)).join(';')}`, 'XMD5', 'XSHA1', 'XSHA256', 'XSHA512');
  if ((s.host.ftpd.combine_support ?? 0) > 0) f.push('COMB');
  return f;
}

async function pasv(s: FtpSession, extended: boolean, arg: string): Promise<void> {
  if (extended && arg.trim().toUpperCase() === 'ALL') {
    s.epsvAll = true;
    return s.reply(200, 'EPSV ALL accepted');
  }
  if (!extended && s.epsvAll) return s.reply(503, 'PASV not allowed after EPSV ALL');
  const local = plainIp(s.control.localAddress);
  const announced = passiveAddress(s.host.binding, s.ip, local);
  if (!extended && !isIPv4(announced)) return s.reply(425, 'PASV needs an IPv4 address: use EPSV');
  s.setDataChannel(undefined);
  const check = s.host.binding.passive_connections_security === 1 ? undefined : s.ip;
  const ch = DataChannel.passive(await s.passiveListener(), {
    clientIp: check,
    protect: s.prot === 'P' ? s.host.tlsContext() : undefined,
    admit: s.host.admitData,
  });
  s.setDataChannel(ch);
  if (extended) return s.reply(229, `Entering Extended Passive Mode (|||${ch.port}|)`);
  s.reply(227, `Entering Passive Mode (${announced.replace(/\./g, ',')},${ch.port >> 8},${ch.port & 255})`);
}

/** PORT h1,h2,h3,h4,p1,p2 or EPRT |af|addr|port|: only back to the client itself, never below 1024. */
function port(s: FtpSession, arg: string, extended: boolean): void {
  if (s.host.ftpd.disable_active_mode) return s.reply(502, 'Active mode is disabled: use PASV or EPSV');
  if (s.epsvAll) return s.reply(503, 'Active mode not allowed after EPSV ALL');
  const target = parseActiveTarget(arg, extended);
  if ('code' in target) return s.reply(target.code, target.message);
  const { host, port: p } = target;
  if (s.host.binding.active_connections_security !== 1 && plainIp(host) !== s.ip)
    return s.reply(504, 'Refused: the data connection must go back to the client address');
  // active_transfers_port_non_20: false connects from the port below the control port (20 for 21), as
  // classic FTP servers and some firewalls expect.
  const fixedPort = s.host.ftpd.active_transfers_port_non_20 === false && s.control.localPort ? s.control.localPort - 1 : undefined;
  s.setDataChannel(DataChannel.active(host, p, { address: s.control.localAddress, port: fixedPort }));
  s.reply(200, `${extended ? 'EPRT' : 'PORT'} command successful`);
}

function auth(s: FtpSession, arg: string): Promise<void> | void {
  const mech = arg.trim().toUpperCase();
  if (!['TLS', 'TLS-C', 'SSL', 'TLS-P'].includes(mech)) return s.reply(504, `AUTH ${mech.slice(0, 10)} is not supported`);
  if (s.tls) return s.reply(503, 'Already using TLS');
  const ctx = s.host.tlsContext();
  if (!ctx) return s.reply(502, 'TLS is not configured on this server');
  return s.upgradeTls(ctx);
}

function prot(s: FtpSession, arg: string): void {
  if (!s.tls) return s.reply(503, 'PROT needs a TLS control connection (AUTH TLS)');
  const level = arg.trim().toUpperCase();
  if (level === 'P') return ((s.prot = 'P'), s.reply(200, 'PROT now Private'));
  if (level === 'C') {
    if (s.tlsRequired) return s.reply(534, 'Data connections must be protected');
    return ((s.prot = 'C'), s.reply(200, 'PROT now Clear'));
  }
  if (level === 'S' || level === 'E') return s.reply(536, `PROT ${level} is not supported`);
  s.reply(504, 'Unknown PROT level');
}

function opts(s: FtpSession, arg: string): void {
  const [name = '', ...rest] = arg.trim().split(/\s+/);
  const value = rest.join(' ');
  switch (name.toUpperCase()) {
    case 'UTF8':
    case 'UTF-8':
      return s.reply(200, 'Always in UTF8 mode');
    case 'MLST':
      return s.reply(200, `MLST OPTS ${value}`);
    case 'HASH': {
      if (!hashEnabled(s)) break;
      if (!value) return s.reply(200, s.hashAlgo);
      const algo = files.HASH_NAMES.find((n) => n === value.toUpperCase());
      if (!algo) return s.reply(501, 'Unknown hash algorithm');
      s.hashAlgo = algo;
      return s.reply(200, algo);
    }
  }
  s.reply(501, `OPTS ${name.slice(0, 20)} not understood`);
}

function type(s: FtpSession, arg: string): void {
  const t = arg.trim().toUpperCase().replace(/\s+/g, ' ');
  // ASCII is accepted and data passes unchanged (as most servers do): REST and SIZE stay exact.
  if (t === 'A' || t === 'A N') return ((s.type = 'A'), s.reply(200, 'Type set to A'));
  if (t === 'I' || t === 'L 8') return ((s.type = 'I'), s.reply(200, 'Type set to I'));
  s.reply(504, `Type ${t.slice(0, 10)} not supported`);
}

function stat(s: FtpSession, arg: string): Promise<void> | void {
  const t = s.transferring;
  if (t) return s.reply(213, `Transfer in progress: ${t.bytes()} bytes`);
  if (arg.trim() && s.conn) return files.statPath(s, arg);
  s.reply(211, [
    'FTP server status:',
    `Connected to ${s.ip}`,
    s.conn ? `Logged in as ${s.conn.username}` : 'Not logged in',
    `TYPE: ${s.type === 'A' ? 'ASCII' : 'BINARY'}; STRUcture: File; transfer MODE: Stream`,
    `Control connection ${s.tls ? 'TLS' : 'plain'}; data PROT ${s.prot}`,
    'End of status',
  ]);
}

const ok = (text: string) => (s: FtpSession) => s.reply(200, text);
const notImplemented: Command = { run: (s) => s.reply(502, 'Command not implemented'), login: false };

const hashCmd = (algo: 'md5' | 'sha1' | 'sha256' | 'sha512'): Command => ({
  needsArg: true,
  run: (s, a) => (hashEnabled(s) ? files.xhash(s, a, algo) : s.reply(502, 'Command not implemented')),
});

const HELP_VERBS = 'ABOR ALLO APPE AUTH CDUP CLNT CWD DELE EPRT EPSV FEAT HELP LIST MDTM MFMT MKD MLSD MLST MODE NLST NOOP OPTS PASS PASV PBSZ PORT PROT PWD QUIT REST RETR RMD RNFR RNTO SITE SIZE STAT STOR STRU SYST TYPE USER XCUP XCWD XMKD XPWD XRMD';

const cwdCmd: Command = { run: (s, a) => files.cwd(s, a) };
const cdupCmd: Command = { run: (s) => files.cwd(s, '..') };
const pwdCmd: Command = { run: (s) => s.reply(257, `${quotePath(s.cwd)} is the current directory`) };
const mkdCmd: Command = { needsArg: true, naming: true, run: files.mkd };
const rmdCmd: Command = { needsArg: true, run: files.rmd };

export const COMMANDS: Record<string, Command> = {
  USER: { login: false, needsArg: true, run: (s, a) => s.user(a.trim()) },
  PASS: { login: false, run: (s, a) => s.pass(a) },
  AUTH: { login: false, needsArg: true, run: auth },
  PBSZ: { login: false, needsArg: true, run: (s) => (s.tls ? s.reply(200, 'PBSZ=0') : s.reply(503, 'PBSZ needs a TLS control connection')) },
  PROT: { login: false, needsArg: true, run: prot },
  FEAT: { login: false, run: (s) => s.reply(211, ['Features:', ...features(s), 'End']) },
  SYST: { login: false, run: (s) => s.reply(215, 'UNIX Type: L8') },
  OPTS: { login: false, needsArg: true, run: opts },
  NOOP: { login: false, run: ok('NOOP ok') },
  CLNT: {
    login: false,
    run: (s, a) => {
      s.clientVersion = a.trim().slice(0, 256) || undefined;
      return s.reply(200, 'Noted');
    },
  },
  HELP: { login: false, run: (s) => s.reply(214, ['The following commands are recognized:', HELP_VERBS, 'Help OK']) },
  QUIT: { login: false, run: (s) => s.quit(221, 'Goodbye') },
  STAT: { login: false, run: stat },
  ABOR: { run: (s) => s.abort() },
  PWD: pwdCmd,
  XPWD: pwdCmd,
  CWD: cwdCmd,
  XCWD: cwdCmd,
  CDUP: cdupCmd,
  XCUP: cdupCmd,
  TYPE: { needsArg: true, run: type },
  MODE: { needsArg: true, run: (s, a) => (a.trim().toUpperCase() === 'S' ? s.reply(200, 'Mode set to S') : s.reply(504, 'Only MODE S is supported')) },
  STRU: { needsArg: true, run: (s, a) => (a.trim().toUpperCase() === 'F' ? s.reply(200, 'Structure set to F') : s.reply(504, 'Only STRU F is supported')) },
  ALLO: { run: (s) => s.reply(202, 'No storage allocation necessary') },
  PASV: { run: (s, a) => pasv(s, false, a) },
  EPSV: { run: (s, a) => pasv(s, true, a) },
  PORT: { needsArg: true, run: (s, a) => port(s, a, false) },
  EPRT: { needsArg: true, run: (s, a) => port(s, a, true) },
  LIST: { run: (s, a) => files.list(s, a, 'LIST') },
  NLST: { run: (s, a) => files.list(s, a, 'NLST') },
  MLSD: { run: (s, a) => files.list(s, a, 'MLSD') },
  MLST: { run: files.mlst },
  RETR: { needsArg: true, run: files.retr },
  STOR: { needsArg: true, naming: true, run: (s, a) => files.stor(s, a, false) },
  APPE: { needsArg: true, naming: true, run: (s, a) => files.stor(s, a, true) },
  REST: {
    needsArg: true,
    run: (s, a) => {
      const n = parseRestOffset(a);
      if (n === undefined) return s.reply(501, 'REST needs a byte offset');
      s.restOffset = n;
      s.reply(350, `Restarting at ${n}`);
    },
  },
  SIZE: { needsArg: true, run: files.size },
  MDTM: { needsArg: true, run: files.mdtm },
  MFMT: { needsArg: true, run: files.mfmt },
  DELE: { needsArg: true, run: files.dele },
  RMD: rmdCmd,
  XRMD: rmdCmd,
  MKD: mkdCmd,
  XMKD: mkdCmd,
  RNFR: { needsArg: true, run: files.rnfr },
  RNTO: { needsArg: true, naming: true, run: files.rnto },
  SITE: { needsArg: true, run: files.site },
  HASH: { needsArg: true, run: (s, a) => (hashEnabled(s) ? files.hash(s, a) : s.reply(502, 'Command not implemented')) },
  XMD5: hashCmd('md5'),
  XSHA1: hashCmd('sha1'),
  XSHA256: hashCmd('sha256'),
  XSHA512: hashCmd('sha512'),
  COMB: { needsArg: true, naming: true, run: comb },
  ACCT: notImplemented,
  REIN: notImplemented,
  SMNT: notImplemented,
  STOU: notImplemented,
};
