// The login gate: the one way in for every front-end (SFTP/SCP, FTP/S, WebDAV, the admin API).
// It owns the order of a login and the lines it leaves behind:
//
//   admit         right after accept, before any protocol byte: defender bans, rate limiters (SSH
//                 and FTP per connection; WebDAV and HTTP per request: limitRequest), post-connect hook
//   authenticate  the credentials (auth/login.ts: stored hash or hooks, external auth, TOTP); SSH's
//                 multi-step methods drive the same steps through `steps`
//   open          account checks (status, expiration, max_sessions, FTP's ftp_security), the user's
//                 mounts, a Session
//
// It alone writes `login`, `login_failed` and `logout`, with the same fields whatever the protocol
// and a plain client address, and records each user's last login (core/last-login.ts). A front-end
// only translates its wire format to these calls.
import type { CredentialsCache } from '../auth/credentials-cache.ts';
import { checkPassword, knownUser, passwordLogin, resolveUser, spendDecoy, userFilters, type AuthEnv, type LoginAttempt, type LoginProtocol, type PasswordCache, type Verdict } from '../auth/login.ts';
import { notifyDisconnect, notifyLogin, postConnectRefusal } from '../auth/login-hooks.ts';
import type { Log } from '../log.ts';
import type { UserRecord } from '../model.ts';
import type { ClientSockets } from './client-sockets.ts';
import type { ConnectionRegistry, Protocol } from './connection.ts';
import type { ServerContext } from './context.ts';
import { connectionRefused, loginFailed, protocolError, type ProtocolErrorReport } from './events.ts';
import { plainIp } from './ip.ts';
import { LastLogins } from './last-login.ts';
import { coreSettingsFor, loginRefusal, openSession, type CoreSettings } from './login.ts';
import type { Session } from './session.ts';

/** What a front-end knows about a login it asks the gate to open. */
export interface OpenRequest {
  protocol: LoginProtocol;
  ip: string;
  /** The method label for the login line: "password", "publickey+totp"... */
  method: string;
  /** FTP and WebDAV: the session ends with its one connection. SSH: when the client leaves. */
  single: boolean;
  /** Whether the client's channel is encrypted (SSH always; FTP after AUTH TLS; WebDAV over HTTPS). */
  tls: boolean;
  /** What the client says it is (SSH: its identification line), for the connections list. */
  clientVersion?: string;
  /**
   * False for a request made with a credential the gate already logged in (a user API token):
   * the account checks and max_sessions still apply, but no `login`/`logout` line, hook or last
   * login is written, and a refusal is only returned (no credential was tried, nothing to score).
   */
  announce?: boolean;
  /** The protocol the session reports when it is not the login's: HTTPShare for a share link's visitor. */
  sessionProtocol?: Protocol;
  /**
   * Drops the client when the session ends (SSH: a login closed by the idle check or at shutdown
   * may have no channel whose own disconnect would do it).
   */
  disconnect?: () => void;
}

export type Opened = { ok: true; session: Session } | { ok: false; reason: string };

/** The credential checks SSH's multi-step authentication runs one at a time. */
export interface AuthSteps {
  resolve(attempt: LoginAttempt): Promise<Verdict>;
  filters(user: UserRecord, attempt: LoginAttempt): string | undefined;
  password(user: UserRecord, attempt: LoginAttempt, password: string): Promise<Verdict>;
  /** A reason when the code is wrong or replayed. */
  totp(user: UserRecord, code: string): Promise<string | undefined>;
  /** Spends a wrong password's time on an attempt with no account to check it against. */
  decoy(password: string): Promise<void>;
  /** The server's log, for the hooks these steps run. */
  log: Log;
}

/** filters.ftp_security 1: FTP control and data connections must be encrypted for this user. */
export function requiresTls(user: UserRecord | undefined, protocol: LoginProtocol): boolean {
  return protocol === 'FTP' && user?.filters?.ftp_security === 1;
}

export class LoginGate {
  readonly #ctx: ServerContext;
  /** Each socket's admission, decided once (HTTP asks again on every request of a keep-alive socket). */
  readonly #admissions = new WeakMap<object, Promise<string | undefined>>();
  /** Logins between their account check and their session, per user: max_sessions counts them. */
  readonly #opening = new Map<string, number>();
  /** Front-ends that hold handles beyond transfers (SFTP directory handles): read by `logout`. */
  readonly #handleCounters = new Set<() => number>();
  /** Each user's last login, written in the background after its login (SFTPGo's last_login). */
  readonly #lastLogins: LastLogins;

  constructor(ctx: ServerContext) {
    this.#ctx = ctx;
    this.#lastLogins = new LastLogins({
      store: ctx.store,
      log: ctx.log,
      externalAuthCacheMs: () => (ctx.config.data_provider?.external_auth_cache_time ?? 0) * 1000,
    });
  }

  /** The store and the current config, read at every call so that reloads apply. */
  get env(): AuthEnv {
    const c = this.#ctx;
    return { store: c.store, config: c.config, log: c.log, totp: c.totp, keyAnswers: c.keyAnswers, verifiedByHook: c.verifiedByHook, changeOrigin: c.changeOrigin, decoy: c.decoy, verified: this.passwords };
  }

  /** The cache of verified passwords (users' and admins'), or undefined when data_provider.password_caching is false. */
  get passwords(): CredentialsCache | undefined {
    return this.#ctx.config.data_provider?.password_caching === false ? undefined : this.#ctx.passwords;
  }

  get connections(): ConnectionRegistry {
    return this.#ctx.connections;
  }

  /** The door before admission: connection caps, PROXY headers, each socket's client address. */
  get sockets(): ClientSockets {
    return this.#ctx.sockets;
  }

  readonly steps: AuthSteps = {
    resolve: (attempt) => resolveUser(this.env, attempt),
    filters: (user, attempt) => userFilters(user, attempt),
    password: (user, attempt, password) => checkPassword(this.env, user, attempt, password),
    totp: (user, code) => this.#ctx.totp.use(user, code, this.#ctx.store.secrets),
    decoy: (password) => spendDecoy(this.env, password),
    log: (level, event, fields) => this.#ctx.log(level, event, fields),
  };

  /** What sessions opened now get from the current config (upload mode, quotas, limits...). */
  settings(): CoreSettings {
    return coreSettingsFor(this.#ctx);
  }

  /** Counts a front-end's open handles in every `logout` line; returns the unregistration. */
  countHandles(count: () => number): () => void {
    this.#handleCounters.add(count);
    return () => this.#handleCounters.delete(count);
  }

  /**
   * Whether a new socket (or the keep-alive socket of an HTTP request) may go on; a reason when
   * refused, already logged as `connection_refused`. Decided once per socket.
   */
  admit(socket: object, rawIp: string, protocol: LoginProtocol): Promise<string | undefined> {
    const ip = plainIp(rawIp);
    const ctx = this.#ctx;
    let p = this.#admissions.get(socket);
    // A ban that starts while the socket is open (failed logins over one keep-alive connection or
    // one SSH session) closes it at the next attempt.
    if (p && ctx.defender.isBanned(ip, protocol)) {
      const banned = p.then((reason) => {
        if (!reason) connectionRefused(ctx, { ip, protocol, reason: 'banned' });
        return reason ?? 'banned';
      });
      this.#admissions.set(socket, banned);
      return banned;
    }
    if (!p) {
      p = this.#admitConnection(ip, protocol)
        .catch(() => 'admission_error')
        .then((reason) => {
          if (reason) connectionRefused(ctx, { ip, protocol, reason });
          return reason;
        });
      this.#admissions.set(socket, p);
    }
    return p;
  }

  async #admitConnection(ip: string, protocol: LoginProtocol): Promise<string | undefined> {
    // The defender's ban list first: a banned address costs no hook run.
    const banned = this.#ctx.defender.admit(ip, protocol);
    if (banned) return banned;
    // SSH and FTP spend a rate limiter token per connection (WebDAV and HTTP per request: limitRequest).
    if ((protocol === 'SSH' || protocol === 'FTP') && (await this.#takeRate(ip, protocol)) !== undefined) return 'rate_limit_exceeded';
    return postConnectRefusal(this.#ctx.config, ip, protocol, this.#ctx.log);
  }

  /**
   * An HTTP request (admin API): the defender's bans, asked on every request since the API keeps
   * no per-socket state; a refusal is logged as `connection_refused`.
   */
  admitRequest(ip: string, protocol: LoginProtocol): string | undefined {
    const plain = plainIp(ip);
    const refused = this.#ctx.defender.admit(plain, protocol);
    if (refused) connectionRefused(this.#ctx, { ip: plain, protocol, reason: refused });
    return refused;
  }

  /**
   * A login over HTTP (the user API's token request): the post-connect hook runs for it, as SFTPGo
   * runs it there (the defender and rate limiters already saw the request); a refusal is logged as
   * `connection_refused`.
   */
  async admitLogin(rawIp: string, protocol: LoginProtocol): Promise<string | undefined> {
    const ip = plainIp(rawIp);
    const reason = await postConnectRefusal(this.#ctx.config, ip, protocol, this.#ctx.log).catch(() => 'admission_error');
    if (reason) connectionRefused(this.#ctx, { ip, protocol, reason });
    return reason;
  }

  /**
   * One WebDAV or HTTP request through common.rate_limiters: resolves undefined once it may go on
   * (after a short wait, when the bucket asks for one), or the milliseconds the client should wait
   * when refused (logged as `connection_refused`, reason `rate_limit_exceeded`).
   */
  async limitRequest(rawIp: string, protocol: LoginProtocol): Promise<number | undefined> {
    const ip = plainIp(rawIp);
    const retryAfterMs = await this.#takeRate(ip, protocol);
    if (retryAfterMs !== undefined) connectionRefused(this.#ctx, { ip, protocol, reason: 'rate_limit_exceeded' });
    return retryAfterMs;
  }

  /** A rate limiter token, waited for when the wait is short; the refused wait otherwise (scored when the limiter asks). */
  async #takeRate(ip: string, protocol: LoginProtocol): Promise<number | undefined> {
    const ctx = this.#ctx;
    const limiters = ctx.rateLimiters;
    limiters.configure(ctx.config.common?.rate_limiters);
    if (!limiters.limits(protocol)) return undefined;
    // The rate limiters' safe list (IP lists type 3) is never limited.
    if (ctx.ipLists.size(3) && ctx.ipLists.match(3, ip, protocol) !== undefined) return undefined;
    const v = await limiters.reserve(ip, protocol);
    if (v.retryAfterMs === undefined) {
      if (v.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, v.delayMs));
      return undefined;
    }
    if (v.defenderEvent) ctx.defender.record(ip, 'limit_exceeded', protocol);
    return v.retryAfterMs;
  }

  /** A login by password (FTP, WebDAV, SSH's password method when it is the only step). */
  authenticate(attempt: LoginAttempt, password: string, cache?: PasswordCache): Promise<Verdict> {
    return passwordLogin(this.env, { ...attempt, ip: plainIp(attempt.ip) }, password, cache);
  }

  /**
   * FTP's USER, before any password (SFTPGo's pre-auth step): whether the named user must use TLS
   * (filters.ftp_security 1), and a refusal, logged as `tls_required`, when the control connection
   * is still in clear. An unknown user gets no answer here: the password step refuses it as usual.
   */
  async preAuthenticate(attempt: { protocol: LoginProtocol; ip: string; username: string }, opts: { tls: boolean }): Promise<{ tlsRequired: boolean; refused?: string }> {
    const user = await knownUser(this.#ctx, attempt.username);
    const tlsRequired = requiresTls(user, attempt.protocol);
    if (!tlsRequired || opts.tls) return { tlsRequired };
    // No credential was tried: the post-login hook does not run, as in SFTPGo.
    this.refuse({ ...attempt, method: 'password' }, 'tls_required', { hooks: false });
    return { tlsRequired, refused: 'tls_required' };
  }

  /**
   * The one `login_failed` line, its metric and defender score, and (unless `hooks` is false, for
   * refusals that name no real attempt such as a grace timeout) the post-login hook.
   */
  refuse(attempt: Pick<LoginAttempt, 'protocol' | 'ip' | 'username'> & { method: string }, reason: string, opts: { hooks?: boolean } = {}): void {
    const a = { ...attempt, ip: plainIp(attempt.ip) };
    loginFailed(this.#ctx, { ...a, reason });
    if (opts.hooks === false) return;
    // The hook runs in the background either way; the user is read without holding up the refusal.
    const tell = (known: UserRecord | undefined) => notifyLogin(this.#ctx.config, { ...a, method: a.method as LoginAttempt['method'] }, known, false, this.#ctx.log);
    void knownUser(this.#ctx, a.username).then(tell, () => tell(undefined));
  }

  /** A client broke its protocol (failed key exchange or TLS handshake, a malformed request). */
  protocolError(e: ProtocolErrorReport): void {
    protocolError(this.#ctx, { ...e, ip: plainIp(e.ip) });
  }

  /**
   * The account checks, then the user's mounts in a live Session: logged as `login`, or as
   * `login_failed` with the reason.
   */
  async open(user: UserRecord, req: OpenRequest): Promise<Opened> {
    const ip = plainIp(req.ip);
    const env = this.env;
    const attempt = { protocol: req.protocol, ip, username: user.username, method: req.method };
    const name = user.username;
    const opening = this.#opening.get(name) ?? 0;
    // A user's TLS requirement holds whoever produced the record (a login hook may, after USER).
    const refused = requiresTls(user, req.protocol) && !req.tls ? 'tls_required' : loginRefusal(user, Date.now(), this.connections.countFor(name) + opening);
    const announce = req.announce !== false;
    if (refused) {
      if (announce) this.refuse(attempt, refused);
      return { ok: false, reason: refused };
    }
    this.#opening.set(name, opening + 1);
    let session: Session;
    try {
      session = await openSession(user, this.settings(), {
        protocol: req.sessionProtocol ?? req.protocol,
        remoteAddress: ip,
        method: req.method,
        context: this.#ctx,
        single: req.single,
        ...(req.clientVersion ? { clientVersion: req.clientVersion } : {}),
        onEnded: (s) => {
          if (announce) this.#ended(s);
          req.disconnect?.();
        },
      });
    } catch (err) {
      const reason = String((err as { code?: unknown })?.code ?? 'error');
      if (announce) this.refuse(attempt, reason);
      else this.#ctx.log('warn', 'session_open_failed', { ip, protocol: req.protocol, username: name, reason });
      return { ok: false, reason };
    } finally {
      const left = (this.#opening.get(name) ?? 1) - 1;
      if (left > 0) this.#opening.set(name, left);
      else this.#opening.delete(name);
    }
    if (!announce) return { ok: true, session };
    this.#ctx.log('info', 'login', {
      connection: session.id, ip, protocol: req.protocol, username: user.username, method: req.method, tls: req.tls,
    });
    this.#ctx.metrics.countLogin(req.method, true);
    void this.#lastLogins.record(user);
    notifyLogin(env.config, { ...attempt, method: req.method as LoginAttempt['method'] }, user, true, env.log);
    return { ok: true, session };
  }

  #ended(s: Session): void {
    const durationMs = Date.now() - s.startedAt;
    let handles = 0;
    for (const count of this.#handleCounters) handles += count();
    // The released counts let tests (and operators) see that nothing leaked.
    this.#ctx.log('info', 'logout', {
      connection: s.id, ip: s.remoteAddress, protocol: s.protocol, username: s.username, method: s.method, duration_ms: durationMs,
      open_transfers: this.connections.openTransfers(), open_handles: handles, live_connections: this.connections.list().length,
    });
    notifyDisconnect(this.#ctx.config, { ip: s.remoteAddress, protocol: s.protocol, username: s.username, durationMs }, this.#ctx.log);
  }
}
