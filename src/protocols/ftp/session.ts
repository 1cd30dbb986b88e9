// One FTP control connection: reads command lines (UTF-8, telnet IAC stripped), runs them one at a
// time, upgrades to TLS on AUTH TLS (the socket is wrapped right after the 234 reply is flushed),
// logs in through the core, and runs data transfers in the background so ABOR, STAT and NOOP are
// answered while a transfer runs. Every other command waits for the running transfer to end.
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { SecureContext, TLSSocket } from 'node:tls';
import type { Common, Ftpd, TlsBinding } from '../../config/schema-types.ts';
import { DEFAULT_IDLE_MINUTES, type Connection } from '../../core/connection.ts';
import { requiresTls, type LoginGate } from '../../core/gate.ts';
import { passwordChangeMessage } from '../../auth/password-age.ts';
import type { Log } from '../../log.ts';
import type { Session } from '../../core/session.ts';
import { AppError } from '../../errors.ts';
import { isConnectionNoise } from '../../core/events.ts';
import { COMMANDS, IMMEDIATE } from './commands.ts';
import { DataChannel, DataError } from './data.ts';
import type { PassiveListener, PassivePorts } from './passive.ts';
import { formatReply, replyFor, type Reply } from './replies.ts';
import { handshake, wrapTls } from './tls.ts';
import { splitCommand, takeLines } from './parse.ts';

const MAX_LOGIN_FAILURES = 3;
const DEFAULT_DATA_TIMEOUT_S = 30;
const TLS_HANDSHAKE_MS = 15_000;

/** What a session reads from its server: always the current config and certificate. */
export interface SessionHost {
  readonly ftpd: Ftpd;
  readonly common: Common | undefined;
  /** Admission, credentials, account checks and the login lines, as for every protocol. */
  readonly gate: LoginGate;
  readonly log: Log;
  readonly binding: TlsBinding;
  /** The binding's current TLS context (re-read on reload); undefined without a certificate. */
  tlsContext(): SecureContext | undefined;
  /** Banner lines sent in the 220 greeting. */
  banner(): string[];
  /** The PROXY protocol door for passive data connections, when the binding applies it. */
  readonly admitData?: (sock: Socket) => Promise<string | undefined>;
  /** The server's passive listeners (one per session that used PASV/EPSV). */
  readonly passivePorts: PassivePorts;
}

interface ActiveTransfer {
  done: Promise<void>;
  abort(): void;
  bytes(): number;
}

export class FtpSession {
  #sock: Socket | TLSSocket;
  #buf: Buffer = Buffer.alloc(0);
  /** Inside a line longer than MAX_LINE, discarding it up to its newline. */
  #overlong = false;
  readonly #queue: string[] = [];
  #pumping = false;
  #closed = false;
  /** Before login only: a logged-in session is ended by the registry's idle check. */
  #idle: ReturnType<typeof setTimeout> | undefined;
  #failures = 0;
  #pendingUser: string | undefined;
  /** The user named by USER (then logged in) has filters.ftp_security 1. */
  #userTls = false;
  #active: ActiveTransfer | undefined;
  #data: DataChannel | undefined;
  #passive: PassiveListener | undefined;
  readonly ip: string;
  tls = false;
  #login: Session | undefined;
  conn: Connection | undefined;
  private readonly onClose: () => void;
  cwd = '/';
  type: 'A' | 'I' = 'A';
  prot: 'C' | 'P' = 'C';
  restOffset = 0;
  renameFrom: string | undefined;
  epsvAll = false;
  hashAlgo = 'SHA-256';
  /** What the client said it is (CLNT), shown as its version in the connections list. */
  clientVersion: string | undefined;

  constructor(
    private readonly raw: Socket,
    readonly host: SessionHost,
    opts: { ip: string; onClose: () => void },
  ) {
    this.#sock = raw;
    this.ip = opts.ip;
    this.onClose = opts.onClose;
    raw.on('error', (err) => this.host.log('debug', 'ftp_client_error', { ip: this.ip, error: err.message }));
    raw.on('close', () => this.close());
  }

  /** Implicit TLS first when the binding says so, then the greeting. */
  async start(): Promise<void> {
    if (this.host.binding.tls_mode === 2) {
      const ctx = this.host.tlsContext();
      if (!ctx) return this.close();
      const t = wrapTls(this.raw, ctx);
      t.on('error', () => undefined);
      this.#sock = t;
      this.tls = true;
      try {
        await handshake(t, TLS_HANDSHAKE_MS);
      } catch (err) {
        this.#tlsFailed(err);
        return this.close();
      }
      this.prot = 'P';
    }
    this.#attach();
    this.reply(220, this.host.banner());
    this.#armIdle();
  }

  get closed(): boolean {
    return this.#closed;
  }

  get transferring(): ActiveTransfer | undefined {
    return this.#active;
  }

  /** The binding requires TLS (tls_mode 1), or the user does (filters.ftp_security 1). */
  get tlsRequired(): boolean {
    return this.host.binding.tls_mode === 1 || this.#userTls;
  }

  get dataTimeoutMs(): number {
    return (this.host.ftpd.data_connection_timeout || DEFAULT_DATA_TIMEOUT_S) * 1000;
  }

  /** The raw control socket (its local address decides where passive listeners bind). */
  get control(): Socket {
    return this.raw;
  }

  /** The binding's `debug` raises the command trace to info and adds the replies to it. */
  get #traceLevel(): 'info' | 'debug' {
    return this.host.binding.debug === true ? 'info' : 'debug';
  }

  reply(code: number, text: string | readonly string[]): void {
    if (this.#closed || this.#sock.destroyed) return;
    if (this.host.binding.debug === true) this.host.log('info', 'ftp_reply', { ip: this.ip, connection: this.conn?.id, code, text });
    this.#sock.write(formatReply(code, text));
  }

  replyError(err: unknown, opts: { naming?: boolean } = {}): void {
    const r: Reply = replyFor(err, this.host.log, opts);
    this.reply(r.code, r.text);
  }

  /** The virtual path a client argument names, from the current directory. */
  path(arg: string): string {
    return this.conn!.fs.path(arg || '.', this.cwd);
  }

  takeRest(): number {
    const n = this.restOffset;
    this.restOffset = 0;
    return n;
  }

  /**
   * This session's passive listener: opened at the first PASV/EPSV on the control connection's
   * address and kept until the session ends (or its port is moved out of a reloaded range, or
   * handed to another session when the range is full: then a new one).
   */
  async passiveListener(): Promise<PassiveListener> {
    const host = this.raw.localAddress ?? '0.0.0.0';
    const range = this.host.ftpd.passive_port_range;
    if (this.#passive?.usableFor(host, range)) return this.#passive;
    this.#passive?.close();
    this.#passive = undefined;
    const l = await this.host.passivePorts.listen(host, range);
    if (this.#closed) {
      l.close();
      throw new DataError('the control connection closed');
    }
    this.#passive = l;
    return l;
  }

  /** Replaces the pending data channel (PASV, EPSV, PORT, EPRT). */
  setDataChannel(ch: DataChannel | undefined): void {
    this.#data?.close();
    this.#data = ch;
  }

  // -- control connection -------------------------------------------------------------------

  #attach(): void {
    this.#sock.on('data', this.#onData);
    // Listeners start paused (pauseOnConnect): an explicit resume is needed on every runtime.
    this.#sock.resume();
  }

  readonly #onData = (chunk: Buffer): void => {
    const { lines, rest, tooLong, skipping } = takeLines(this.#buf.length ? Buffer.concat([this.#buf, chunk]) : chunk, { skipping: this.#overlong });
    this.#buf = rest;
    this.#overlong = skipping;
    this.#queue.push(...lines);
    if (tooLong) this.reply(500, 'Command line too long');
    void this.#pump();
  };

  async #pump(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (this.#queue.length > 0 && !this.#closed) await this.#handle(this.#queue.shift()!);
    } finally {
      this.#pumping = false;
    }
  }

  async #handle(line: string): Promise<void> {
    const { verb, arg } = splitCommand(line);
    if (!verb) return;
    this.host.log(this.#traceLevel, 'ftp_command', { ip: this.ip, connection: this.conn?.id, command: verb, arg: verb === 'PASS' ? '***' : arg });
    if (!this.conn) this.#armIdle();
    this.conn?.touch();
    if (this.#active && !IMMEDIATE.has(verb)) await this.#active.done;
    if (verb !== 'RNTO' && verb !== 'RNFR') this.renameFrom = undefined;
    const cmd = COMMANDS[verb];
    if (!cmd) return this.reply(500, `Command "${verb.slice(0, 20)}" not understood`);
    if (cmd.login !== false && !this.conn) return this.reply(530, 'Please login with USER and PASS');
    if (cmd.needsArg && !arg.trim()) return this.reply(501, `Syntax error: ${verb} needs an argument`);
    try {
      await cmd.run(this, arg);
    } catch (err) {
      this.replyError(err, { naming: cmd.naming });
    }
  }

  /**
   * The idle limit of a control connection that has not logged in (there is no session yet for
   * the registry's idle check): common.idle_timeout, and at most two minutes (SFTPGo's login idle
   * limit) even when idle_timeout is 0, so unauthenticated connections cannot pile up. Only a
   * complete command re-arms it: a line trickling in a byte at a time does not.
   */
  #armIdle(): void {
    if (this.#idle) clearTimeout(this.#idle);
    const minutes = this.host.common?.idle_timeout ?? DEFAULT_IDLE_MINUTES;
    const loginMs = this.host.gate.sockets.ftpLoginIdleMs;
    const ms = minutes > 0 ? Math.min(minutes * 60_000, loginMs) : loginMs;
    this.#idle = setTimeout(() => {
      if (this.conn) return;
      this.host.gate.sockets.timedOut(this.ip, 'FTP', 'login_timeout');
      this.quit(421, 'Login timeout, closing the control connection');
    }, ms);
    this.#idle.unref?.();
  }

  /** AUTH TLS: the reply goes out in clear, then the same socket continues as TLS. */
  async upgradeTls(context: SecureContext): Promise<void> {
    const plain = this.#sock;
    plain.off('data', this.#onData);
    this.#queue.length = 0;
    this.#buf = Buffer.alloc(0);
    this.#overlong = false;
    await new Promise<void>((resolve) => plain.write(formatReply(234, 'AUTH TLS successful'), () => resolve()));
    if (this.#closed) return;
    const t = wrapTls(this.raw, context);
    t.on('error', (err) => this.host.log('debug', 'ftp_tls_error', { ip: this.ip, error: err.message }));
    this.#sock = t;
    this.tls = true;
    this.#attach();
    handshake(t, TLS_HANDSHAKE_MS).catch((err: unknown) => {
      this.#tlsFailed(err);
      this.close();
    });
  }

  /** A TLS handshake that failed: a protocol error, unless the client merely went away. */
  #tlsFailed(err: unknown): void {
    const error = String((err as Error)?.message ?? err);
    if (this.#closed || isConnectionNoise(err)) return this.host.log('debug', 'ftp_tls_failed', { ip: this.ip, error });
    this.host.gate.protocolError({ ip: this.ip, protocol: 'FTP', username: this.conn?.username ?? this.#pendingUser ?? '', error: `TLS handshake: ${error}` });
  }

  /** Replies, then closes the control connection once the reply is written. */
  quit(code: number, text: string): void {
    if (this.#closed) return;
    this.#sock.end(formatReply(code, text), () => this.close());
    setTimeout(() => this.close(), 2000).unref?.();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#idle) clearTimeout(this.#idle);
    this.#active?.abort();
    this.#data?.close();
    this.#passive?.close();
    this.#sock.destroy();
    this.raw.destroy();
    void this.#login?.close();
    this.onClose();
  }

  // -- login ----------------------------------------------------------------------------------

  async user(name: string): Promise<void> {
    if (this.conn) return this.reply(530, 'Already logged in');
    if (this.tlsRequired && !this.tls) {
      this.#refuse(name, 'tls_required', false);
      return this.reply(534, 'Policy requires TLS: use AUTH TLS first');
    }
    const pre = await this.host.gate.preAuthenticate({ protocol: 'FTP', ip: this.ip, username: name }, { tls: this.tls });
    // SFTPGo's answer to a user with ftp_security 1 on a clear connection: 421, then it hangs up.
    if (pre.refused) return this.quit(421, 'TLS is required');
    this.#userTls = pre.tlsRequired;
    this.#pendingUser = name;
    this.reply(331, `Password required for ${name}`);
  }

  #refuse(username: string, reason: string, hooks = true): void {
    this.host.gate.refuse({ protocol: 'FTP', ip: this.ip, username, method: 'password' }, reason, { hooks });
  }

  async pass(password: string): Promise<void> {
    if (this.conn) return this.reply(230, 'Already logged in');
    const username = this.#pendingUser;
    this.#pendingUser = undefined;
    if (this.tlsRequired && !this.tls) {
      this.#refuse(username ?? '', 'tls_required', false);
      return this.reply(530, 'TLS is required to log in: use AUTH TLS');
    }
    if (username === undefined) return this.reply(503, 'Login with USER first');
    const gate = this.host.gate;
    // A user with TOTP for FTP sends the password with the current code appended (SFTPGo's convention).
    const outcome = await gate.authenticate({ protocol: 'FTP', ip: this.ip, username, method: 'password' }, password);
    if (!outcome.ok) this.#refuse(username, outcome.reason);
    const opened = outcome.ok ? await gate.open(outcome.user, { protocol: 'FTP', ip: this.ip, method: 'password', single: true, tls: this.tls, ...(this.clientVersion ? { clientVersion: this.clientVersion } : {}) }) : undefined;
    if (!opened?.ok) {
      if (++this.#failures >= MAX_LOGIN_FAILURES) return this.quit(421, 'Too many failed logins');
      const reason = outcome.ok ? opened?.reason : outcome.reason;
      if (reason === 'tls_required') return this.quit(421, 'TLS is required');
      // Only a client that sent the right password learns that it must be changed.
      return this.reply(530, passwordChangeMessage(reason) ?? 'Login incorrect');
    }
    const session = opened.session;
    this.#userTls = outcome.ok && requiresTls(outcome.user, 'FTP');
    this.#login = session;
    this.conn = session.connect({ protocol: 'FTP', disconnect: () => this.quit(421, 'Closing the control connection') });
    if (this.#closed) return void session.close();
    if (this.#idle) clearTimeout(this.#idle);
    // filters.start_directory: the first PWD (relative paths start there too).
    this.cwd = this.conn.fs.startDirectory;
    this.reply(230, 'Login successful');
  }

  // -- data transfers ---------------------------------------------------------------------------

  /**
   * Runs `body` over the pending data channel in the background: 150, (TLS handshake), body,
   * clean close, `finish(true)` (commits an upload), 226. Failures end with `finish(false)` and
   * 425/426 for the data connection, or the mapped storage error. Returns once 150 is decided.
   */
  startTransfer(
    body: (s: Duplex) => Promise<void>,
    finish: (ok: boolean) => Promise<void>,
    opts: { naming?: boolean; progress?: () => number } = {},
  ): void {
    const ch = this.#data;
    this.#data = undefined;
    const fail = (code: number, text: string): void => {
      ch?.close();
      void finish(false).catch(() => undefined);
      this.reply(code, text);
    };
    if (!ch) return fail(425, 'Use PASV, EPSV, PORT or EPRT first');
    if (this.tlsRequired && this.prot !== 'P') return fail(521, 'Data connections must be protected: use PROT P');
    let aborted = false;
    const run = async (): Promise<void> => {
      try {
        await ch.open(this.dataTimeoutMs);
      } catch {
        return fail(425, 'Cannot open data connection');
      }
      this.reply(150, 'Opening data connection');
      try {
        const s = await ch.stream(this.prot === 'P' ? this.host.tlsContext() : undefined, this.dataTimeoutMs, Math.max(this.dataTimeoutMs, 60_000));
        await body(s);
        if (aborted) throw new DataError('aborted');
        await ch.end();
      } catch (err) {
        ch.close();
        await finish(false).catch(() => undefined);
        if (aborted || err instanceof DataError || !(err instanceof AppError)) {
          if (!(err instanceof DataError) && !aborted) this.host.log('debug', 'ftp_data_error', { ip: this.ip, error: String(err) });
          return this.reply(426, 'Connection closed; transfer aborted');
        }
        return this.replyError(err, opts);
      }
      try {
        await finish(true);
      } catch (err) {
        return this.replyError(err, opts);
      }
      this.reply(226, 'Transfer complete');
    };
    const done = run().finally(() => {
      if (this.#active === active) this.#active = undefined;
    });
    const active: ActiveTransfer = { done, abort: () => ((aborted = true), ch.close()), bytes: () => opts.progress?.() ?? 0 };
    this.#active = active;
  }

  /** ABOR: stops the running transfer (426 from it, then 226) or just drops a pending channel. */
  async abort(): Promise<void> {
    const a = this.#active;
    this.setDataChannel(undefined);
    if (!a) return this.reply(225, 'No transfer to abort');
    a.abort();
    await a.done;
    this.reply(226, 'Abort successful');
  }
}

/** Drops telnet IAC sequences (IP, DM, ... before ABOR); IAC IAC stands for one 0xFF byte. */
