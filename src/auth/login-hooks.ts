// The operator's hooks around the login pipeline (auth/login.ts), with SFTPGo's contracts:
//
//   post_connect_hook    decides: may a new connection from this address go on?
//   pre_login_hook       decides: before credentials, keep, create or update the user, or deny
//   check_password_hook  decides: is this password good (status 0/1/2)?
//   post_login_hook      notifies: a login succeeded or failed (never blocks the login)
//   post_disconnect_hook notifies: a logged-in connection closed
//
// A hook that decides denies on anything but a clean answer (non-zero exit, non-2xx, timeout,
// garbage). A hook that notifies only logs its failures. Every run has common.hooks_timeout.
import type { Config } from '../config/load.ts';
import type { User } from '../config/schema-types.ts';
import { hookSucceeded, runHook, type HookResult, type HookRun } from '../core/hooks.ts';
import type { Log } from '../log.ts';
import type { UserRecord } from '../model.ts';
import type { LoginAttempt, LoginProtocol } from './login.ts';

export const DEFAULT_LOGIN_HOOK_TIMEOUT_S = 30;

export function hooksTimeoutMs(config: Config): number {
  return (config.common?.hooks_timeout ?? DEFAULT_LOGIN_HOOK_TIMEOUT_S) * 1000;
}

/**
 * The user as hooks see it (SFTPGo's user JSON): the effective record without its password hash and
 * digest, which a hook has no use for and must not be able to leak.
 */
export function hookUser(user: UserRecord | undefined): Record<string, unknown> | undefined {
  if (!user) return undefined;
  const { password, password_digest, ...rest } = user;
  void password;
  void password_digest;
  return rest;
}

/** A JSON object from a hook's output; undefined for empty output; 'garbage' for anything else. */
export function parseHookJson(output: string): Record<string, unknown> | undefined | 'garbage' {
  const text = output.trim();
  if (text === '') return undefined;
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : 'garbage';
  } catch {
    return 'garbage';
  }
}

function failure(r: HookResult): string {
  if (!r.ok) return r.error;
  return r.kind === 'program' ? `exit code ${r.code}` : `HTTP status ${r.status}`;
}

/** Runs a notification hook in the background; an answer other than success is logged, nothing more. */
function notify(command: string, run: HookRun & { log: Log }): void {
  void runHook(command, run)
    .then((r) => {
      // runHook already logged a run that could not finish; a clean run that said no is logged here.
      if (r.ok && !hookSucceeded(r)) run.log('warn', 'hook_failed', { hook: run.name, error: failure(r) });
    })
    .catch(() => undefined);
}

// ---- post-connect / post-disconnect ------------------------------------------------------------

/** Runs common.post_connect_hook; a reason when the connection must be refused. */
export async function postConnectRefusal(config: Config, ip: string, protocol: LoginProtocol, log: Log): Promise<string | undefined> {
  const command = config.common?.post_connect_hook;
  if (!command) return undefined;
  const r = await runHook(command, {
    name: 'post_connect_hook',
    env: { SFTPGO_CONNECTION_IP: ip, SFTPGO_CONNECTION_PROTOCOL: protocol },
    method: 'GET',
    query: { ip, protocol },
    timeoutMs: hooksTimeoutMs(config),
    log,
  });
  if (hookSucceeded(r)) return undefined;
  log('warn', 'post_connect_hook_refused', { ip, protocol, error: failure(r) });
  return 'post_connect_hook';
}

export interface Disconnected {
  ip: string;
  protocol: string;
  username: string;
  durationMs: number;
}

/** Notifies common.post_disconnect_hook, in the background. */
export function notifyDisconnect(config: Config, d: Disconnected, log: Log): void {
  const command = config.common?.post_disconnect_hook;
  if (!command) return;
  notify(command, {
    name: 'post_disconnect_hook',
    env: {
      SFTPGO_CONNECTION_IP: d.ip,
      SFTPGO_CONNECTION_USERNAME: d.username,
      SFTPGO_CONNECTION_DURATION: d.durationMs,
      SFTPGO_CONNECTION_PROTOCOL: d.protocol,
    },
    method: 'GET',
    query: { ip: d.ip, protocol: d.protocol, username: d.username, connection_duration: String(d.durationMs) },
    timeoutMs: hooksTimeoutMs(config),
    log,
  });
}

// ---- pre-login ---------------------------------------------------------------------------------

export type PreLoginAnswer =
  /** Go on with the user as it is (or unknown). */
  | { kind: 'unchanged' }
  /** Create or update the user with this definition before checking credentials. */
  | { kind: 'user'; user: Record<string, unknown> }
  | { kind: 'denied'; reason: string };

/** Whether the pre-login hook applies to this attempt at all. */
export function preLoginApplies(config: Config, user: UserRecord | undefined): boolean {
  return !!config.data_provider?.pre_login_hook && !user?.filters?.hooks?.pre_login_disabled;
}

export async function runPreLogin(config: Config, user: UserRecord | undefined, attempt: LoginAttempt, log: Log): Promise<PreLoginAnswer> {
  const command = config.data_provider!.pre_login_hook!;
  // An unknown user is sent as SFTPGo does: id 0 and the username tried, so the hook can create it.
  const json = hookUser(user) ?? { id: 0, username: attempt.username };
  const r = await runHook(command, {
    name: 'pre_login_hook',
    env: {
      SFTPGO_LOGIND_USER: JSON.stringify(json),
      SFTPGO_LOGIND_METHOD: attempt.method,
      SFTPGO_LOGIND_IP: attempt.ip,
      SFTPGO_LOGIND_PROTOCOL: attempt.protocol,
    },
    payload: json,
    query: { login_method: attempt.method, ip: attempt.ip, protocol: attempt.protocol },
    timeoutMs: hooksTimeoutMs(config),
    log,
  });
  if (!hookSucceeded(r) || !r.ok) return { kind: 'denied', reason: 'pre_login_hook_failed' };
  const answer = parseHookJson(r.output);
  if (answer === undefined) return { kind: 'unchanged' };
  if (answer === 'garbage') {
    log('warn', 'pre_login_hook_invalid', { username: attempt.username, error: 'output is not a JSON object' });
    return { kind: 'denied', reason: 'pre_login_hook_invalid' };
  }
  if (answer.username !== attempt.username) {
    log('warn', 'pre_login_hook_invalid', { username: attempt.username, error: `answered user "${String(answer.username)}"` });
    return { kind: 'denied', reason: 'pre_login_hook_invalid' };
  }
  return { kind: 'user', user: answer };
}

// ---- check password ----------------------------------------------------------------------------

const PROTOCOL_BIT: Record<LoginProtocol, number> = { SSH: 1, FTP: 2, DAV: 4, HTTP: 8 };

export function checkPasswordApplies(config: Config, user: UserRecord, protocol: LoginProtocol): boolean {
  const dp = config.data_provider;
  if (!dp?.check_password_hook || user.filters?.hooks?.check_password_disabled) return false;
  const scope = dp.check_password_scope ?? 0;
  return scope === 0 || (scope & PROTOCOL_BIT[protocol]) !== 0;
}

export type CheckPasswordAnswer =
  | { status: 0; reason: string }
  | { status: 1 }
  | { status: 2; toVerify: string };

export async function runCheckPassword(config: Config, attempt: LoginAttempt, password: string, log: Log): Promise<CheckPasswordAnswer> {
  const r = await runHook(config.data_provider!.check_password_hook!, {
    name: 'check_password_hook',
    env: {
      SFTPGO_AUTHD_USERNAME: attempt.username,
      SFTPGO_AUTHD_PASSWORD: password,
      SFTPGO_AUTHD_IP: attempt.ip,
      SFTPGO_AUTHD_PROTOCOL: attempt.protocol,
    },
    payload: { username: attempt.username, password, ip: attempt.ip, protocol: attempt.protocol },
    timeoutMs: hooksTimeoutMs(config),
    log,
  });
  if (!hookSucceeded(r) || !r.ok) return { status: 0, reason: 'check_password_hook_failed' };
  const answer = parseHookJson(r.output);
  const status = answer && answer !== 'garbage' ? answer.status : undefined;
  if (status === 1) return { status: 1 };
  if (status === 2 && answer && answer !== 'garbage' && typeof answer.to_verify === 'string') return { status: 2, toVerify: answer.to_verify };
  if (status === 0) return { status: 0, reason: 'check_password_hook_denied' };
  log('warn', 'check_password_hook_invalid', { username: attempt.username, error: 'expected {"status": 0|1|2, "to_verify": "..."}' });
  return { status: 0, reason: 'check_password_hook_invalid' };
}

// ---- post-login --------------------------------------------------------------------------------

/** Notifies data_provider.post_login_hook (per post_login_scope), in the background. */
export function notifyLogin(config: Config | undefined, attempt: LoginAttempt, user: UserRecord | Pick<User, 'username'> | undefined, ok: boolean, log: Log): void {
  const dp = config?.data_provider;
  if (!dp?.post_login_hook) return;
  const scope = dp.post_login_scope ?? 0;
  if ((scope === 1 && ok) || (scope === 2 && !ok)) return;
  const json = user && 'id' in user ? hookUser(user as UserRecord)! : { username: user?.username ?? attempt.username };
  const status = ok ? 1 : 0;
  notify(dp.post_login_hook, {
    name: 'post_login_hook',
    env: {
      SFTPGO_LOGIND_USER: JSON.stringify(json),
      SFTPGO_LOGIND_IP: attempt.ip,
      SFTPGO_LOGIND_METHOD: attempt.method,
      SFTPGO_LOGIND_STATUS: status,
      SFTPGO_LOGIND_PROTOCOL: attempt.protocol,
    },
    payload: json,
    query: { ip: attempt.ip, login_method: attempt.method, protocol: attempt.protocol, status: String(status) },
    timeoutMs: hooksTimeoutMs(config!),
    log,
  });
}
