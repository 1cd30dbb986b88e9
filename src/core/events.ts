// Security events every protocol reports the same way: one stable, fail2ban-friendly log line
// (event name, client IP, protocol, username tried), a metric and the defender's score, written in
// one place. The login gate (core/gate.ts) is what calls them, with its server's reporter.
import type { Log } from '../log.ts';
import { eventForLoginFailure, eventForRefusal, type Defender } from './defender.ts';
import type { Metrics } from './metrics.ts';

/** Where one server's security events go. */
export interface Reporter {
  log: Log;
  metrics: Metrics;
  defender: Defender;
}

export interface LoginFailure {
  ip: string;
  protocol: 'SSH' | 'FTP' | 'DAV' | 'HTTP';
  username: string;
  method?: string;
  reason: string;
}

export function loginFailed(r: Reporter, f: LoginFailure): void {
  r.log('warn', 'login_failed', { ip: f.ip, protocol: f.protocol, username: f.username, ...(f.method ? { method: f.method } : {}), reason: f.reason });
  r.metrics.inc('sftpgo_login_failed_total', { protocol: f.protocol, reason: f.reason });
  const event = eventForLoginFailure(f.reason);
  // SFTPGo's login metrics count user logins: HTTP failures are mostly admins', so the user API
  // counts its own (api/user-auth.ts); a client that never tried to log in is not an attempt.
  if (f.protocol !== 'HTTP') {
    if (event === 'no_auth') r.metrics.inc('sftpgo_no_auth_total');
    else r.metrics.countLogin(f.method, false);
  }
  if (event) r.defender.record(f.ip, event, f.protocol);
}

export interface ConnectionRefusal {
  ip: string;
  protocol: LoginFailure['protocol'];
  reason: string;
}

/** A connection closed before any login: banned address, post-connect hook, connection limits. */
export function connectionRefused(to: Reporter, r: ConnectionRefusal): void {
  to.log('warn', 'connection_refused', { ip: r.ip, protocol: r.protocol, reason: r.reason });
  to.metrics.inc('sftpgo_connection_refused_total', { protocol: r.protocol, reason: r.reason });
  const event = eventForRefusal(r.reason);
  if (event) to.defender.record(r.ip, event, r.protocol);
}

/**
 * A client that held a connection without using it: an HTTP request head or body that stopped
 * arriving, an FTP control connection that never logged in. One line per connection and a metric;
 * not scored by the defender (a slow network looks the same).
 */
export function connectionTimedOut(to: Reporter, r: ConnectionRefusal): void {
  to.log('warn', 'connection_timeout', { ip: r.ip, protocol: r.protocol, reason: r.reason });
  to.metrics.inc('sftpgo_connection_timeouts_total', { protocol: r.protocol, reason: r.reason });
}

export interface ProtocolErrorReport {
  ip: string;
  protocol: LoginFailure['protocol'];
  /** The username tried or logged in, '' before any. */
  username: string;
  error: string;
}

const NOISE: ReadonlySet<string> = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE', 'ERR_STREAM_DESTROYED']);

/** Network-level endings (resets, broken pipes, timeouts): a client going away, not breaking the protocol. */
export function isConnectionNoise(err: unknown): boolean {
  return NOISE.has((err as NodeJS.ErrnoException)?.code ?? '');
}

/**
 * A client broke the protocol: a failed SSH key exchange, a failed TLS handshake, a malformed HTTP
 * request. One `protocol_error` line with the client IP (fail2ban's aggressive mode reads it).
 */
export function protocolError(r: Reporter, e: ProtocolErrorReport): void {
  r.log('warn', 'protocol_error', { ip: e.ip, protocol: e.protocol, username: e.username, error: e.error });
  r.metrics.inc('sftpgo_protocol_errors_total', { protocol: e.protocol });
}
