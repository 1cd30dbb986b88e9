// SSH user authentication through the login pipeline (auth/login.ts): passwords, public keys
// (several per user), OpenSSH user certificates signed by a trusted CA, keyboard-interactive (a
// password prompt or the operator's hook), and multi-step logins: a public key followed by one of
// the user's `next_auth_methods`, and a TOTP code (asked by keyboard-interactive) after the first
// factor for users with TOTP enabled for SSH. Steps that pass but leave a step due answer with
// partial success (RFC 4252 5.1). max_auth_tries and the account checks are applied by the server.
// The gate (core/gate.ts) runs each credential check and writes every `login_failed` line.
import { algoMatchesCertificate, certificateRefusal, isCertificateAlgo, parseCertificate, verifySshSignature } from '../../auth/certificates.ts';
import { runKeyboardInteractiveHook, type Question } from '../../auth/keyboard-interactive.ts';
import { findAuthorizedKey } from '../../auth/keys.ts';
import type { LoginAttempt } from '../../auth/login.ts';
import { passwordChangeMessage } from '../../auth/password-age.ts';
import { totpRequired } from '../../auth/totp.ts';
import type { AuthSteps } from '../../core/gate.ts';
import type { UserRecord } from '../../model.ts';
import type { AuthContext } from '../../lib/ssh2.ts';
import { utils } from '../../lib/ssh2.ts';

export type AuthMethod = 'publickey' | 'password' | 'keyboard-interactive';

export type AuthOutcome =
  | { ok: true; user: UserRecord; method: string }
  | { ok: false; reason: string; username: string; method: string }
  /** A step passed and another is due: answer with partial success listing `methods`. */
  | { ok: 'partial'; methods: AuthMethod[]; username: string; method: string }
  /** A public-key query without signature: the key would be accepted, nothing is decided yet. */
  | { ok: 'query' }
  /** Methods not offered now (none, disabled ones): refused without counting as a failure. */
  | { ok: 'skip'; methods?: AuthMethod[]; partial?: boolean };

export interface AuthSettings {
  passwordAuthentication: boolean;
  keyboardInteractive?: boolean;
  /** sftpd.keyboard_interactive_auth_hook: a program speaking SFTPGo's protocol. */
  keyboardInteractiveHook?: string;
  /** Blobs of the trusted user CA keys (sftpd.trusted_user_ca_keys). */
  trustedCAs?: readonly Buffer[];
  /** Seconds since the epoch (tests move the clock). */
  now?: () => number;
}

/** What a connection is told it may try when nothing is in progress. */
export function offeredMethods(s: AuthSettings): AuthMethod[] {
  const m: AuthMethod[] = ['publickey'];
  if (s.passwordAuthentication) m.push('password');
  if (s.keyboardInteractive) m.push('keyboard-interactive');
  return m;
}

type Factor = 'publickey' | 'password' | 'keyboard-interactive' | 'totp';

/** What has passed so far on one connection. */
interface Progress {
  user: UserRecord;
  passed: Factor[];
}

/** The methods that may follow a public key for `user`: next_auth_methods less the denied combinations. */
export function nextAuthMethods(user: UserRecord, s: AuthSettings): AuthMethod[] {
  const denied = (user.filters?.denied_login_methods ?? []) as string[];
  return (user.filters?.next_auth_methods ?? []).filter(
    (m) => !denied.includes(`publickey+${m}`) && (m === 'password' || s.keyboardInteractive || s.keyboardInteractiveHook),
  );
}

/** True while a public key has passed and one of the user's next_auth_methods is still due. */
function secondFactorDue(p: Progress): boolean {
  return p.passed.includes('publickey') && (p.user.filters?.next_auth_methods ?? []).length > 0
    && !p.passed.includes('password') && !p.passed.includes('keyboard-interactive');
}

/**
 * The methods one of which is still due; [] with `done` when the login is complete. A due step
 * with no method left to satisfy it (every combination denied) is not done: the login fails.
 */
function remaining(p: Progress, s: AuthSettings): { done: boolean; methods: AuthMethod[] } {
  if (secondFactorDue(p)) return { done: false, methods: nextAuthMethods(p.user, s) };
  if (totpRequired(p.user, 'SSH') && !p.passed.includes('totp')) return { done: false, methods: ['keyboard-interactive'] };
  return { done: true, methods: [] };
}

/**
 * One SSH connection's authentication: it remembers the steps already passed so a second step
 * completes the login the first one began. ssh2 keeps the username fixed across the attempts of a
 * connection (a different one is a protocol error), so progress belongs to one user.
 */
export class SshAuthentication {
  #progress?: Progress;

  constructor(private readonly ip: string, private readonly signal?: AbortSignal) {}

  async authenticate(steps: AuthSteps, ctx: AuthContext, s: AuthSettings): Promise<AuthOutcome> {
    const username = ctx.username;
    const method = ctx.method;
    if (method !== 'password' && method !== 'publickey' && method !== 'keyboard-interactive') return this.#skip(s);
    const progress = this.#progress;
    if (progress) return this.#nextStep(steps, ctx, s, progress);

    if (method === 'password' && !s.passwordAuthentication) return this.#skip(s);
    if (method === 'keyboard-interactive' && !s.keyboardInteractive) return this.#skip(s);
    // The credential rides along for the hooks that see it (external auth, check password).
    const attempt: LoginAttempt = method === 'password'
      ? { protocol: 'SSH', ip: this.ip, username, method, password: (ctx as AuthContext & { password: string }).password }
      : method === 'publickey'
        ? { protocol: 'SSH', ip: this.ip, username, method, publicKey: authorizedKeyLine((ctx as AuthContext & { key: { data: Buffer } }).key.data) }
        : { protocol: 'SSH', ip: this.ip, username, method };
    const resolved = await steps.resolve(attempt);
    if (!resolved.ok) {
      if (resolved.reason === 'user_not_found') await this.#decoy(steps, ctx, s);
      return { ok: false, reason: resolved.reason, username, method };
    }
    const user = resolved.user;
    const refused = steps.filters(user, attempt);
    if (refused) return { ok: false, reason: refused, username, method };

    let passed: Factor[];
    if (method === 'publickey') {
      const r = this.#publicKey(ctx, user, s);
      if (r !== true) return r;
      passed = ['publickey'];
    } else {
      // A user whose public key must be followed by another method cannot start without it.
      if ((user.filters?.next_auth_methods ?? []).length > 0) return { ok: false, reason: 'publickey_required', username, method };
      if (method === 'password') {
        const v = await steps.password(user, attempt, (ctx as AuthContext & { password: string }).password);
        if (!v.ok) return { ok: false, reason: v.reason, username, method };
        passed = ['password'];
      } else {
        const r = await this.#keyboardInteractive(steps, ctx, s, user, []);
        if (r.ok !== true) return r.outcome;
        passed = r.passed;
      }
    }
    return this.#advance({ user, passed }, s, method);
  }

  /**
   * An unknown username is refused only after what a wrong password costs: the password checked
   * against the decoy hash, and for keyboard-interactive the same prompt first, so neither the time
   * nor the exchange tells that the account does not exist.
   */
  async #decoy(steps: AuthSteps, ctx: AuthContext, s: AuthSettings): Promise<void> {
    if (ctx.method === 'password') return steps.decoy((ctx as AuthContext & { password: string }).password);
    if (ctx.method !== 'keyboard-interactive' || s.keyboardInteractiveHook) return;
    const ki = ctx as AuthContext & { prompt(q: Question[], title: string, instructions: string, cb: (answers: string[] | Error) => void): void };
    const answers = await this.#prompt(ki, [{ prompt: 'Password: ', echo: false }], '');
    if (answers) await steps.decoy(answers[0] ?? '');
  }

  #skip(s: AuthSettings): AuthOutcome {
    const p = this.#progress;
    return p ? { ok: 'skip', methods: remaining(p, s).methods, partial: true } : { ok: 'skip' };
  }

  /** Records passed steps: complete, or partial success naming what is still due. */
  #advance(p: Progress, s: AuthSettings, method: string): AuthOutcome {
    const due = remaining(p, s);
    const label = p.passed.join('+') || method;
    if (due.done) {
      this.#progress = undefined;
      return { ok: true, user: p.user, method: label };
    }
    if (due.methods.length === 0) {
      this.#progress = undefined;
      return { ok: false, reason: 'no_next_method', username: p.user.username, method: label };
    }
    this.#progress = p;
    return { ok: 'partial', methods: due.methods, username: p.user.username, method: label };
  }

  async #nextStep(steps: AuthSteps, ctx: AuthContext, s: AuthSettings, p: Progress): Promise<AuthOutcome> {
    const due = remaining(p, s).methods;
    const method = ctx.method as AuthMethod;
    const username = p.user.username;
    if (!due.includes(method)) return { ok: 'skip', methods: due, partial: true };
    if (method === 'password') {
      const password = (ctx as AuthContext & { password: string }).password;
      const attempt: LoginAttempt = { protocol: 'SSH', ip: this.ip, username, method: 'password', password };
      const v = await steps.password(p.user, attempt, password);
      if (!v.ok) return { ok: false, reason: v.reason, username, method: `${p.passed.join('+')}+password` };
      return this.#advance({ user: p.user, passed: [...p.passed, 'password'] }, s, method);
    }
    const r = await this.#keyboardInteractive(steps, ctx, s, p.user, p.passed);
    if (r.ok !== true) return r.outcome;
    return this.#advance({ user: p.user, passed: [...p.passed, ...r.passed] }, s, method);
  }

  /** true when the key (or certificate) is the user's and signed the session; otherwise the outcome. */
  #publicKey(ctx: AuthContext, user: UserRecord, s: AuthSettings): true | AuthOutcome {
    const username = user.username;
    const method = 'publickey';
    const pk = ctx as AuthContext & { key: { algo: string; data: Buffer }; signature?: Buffer; blob?: Buffer; hashAlgo?: string };
    if (isCertificateAlgo(pk.key.algo)) {
      const cert = parseCertificate(pk.key.data);
      if (cert instanceof Error) return { ok: false, reason: 'cert_invalid', username, method };
      if (!algoMatchesCertificate(pk.key.algo, cert)) return { ok: false, reason: 'cert_invalid', username, method };
      const refusal = certificateRefusal(cert, {
        trustedCAs: s.trustedCAs ?? [], username, ip: this.ip, now: s.now?.() ?? Date.now() / 1000,
      });
      if (refusal) return { ok: false, reason: refusal, username, method };
      if (!pk.signature) return { ok: 'query' };
      // ssh2 passes a certificate's signature through whole (algorithm name and signature).
      const ok = pk.blob !== undefined && verifySshSignature(cert.publicKey, pk.blob, pk.signature);
      return ok ? true : { ok: false, reason: 'invalid_signature', username, method };
    }
    const found = findAuthorizedKey(user.public_keys ?? [], pk.key.data);
    if (!found) return { ok: false, reason: 'invalid_credentials', username, method };
    if (!pk.signature) return { ok: 'query' };
    const parsed = utils.parseKey(`${found.type} ${found.blob.toString('base64')}`);
    const key = Array.isArray(parsed) ? parsed[0] : parsed;
    const verified = !(key instanceof Error) && key !== undefined && pk.blob !== undefined
      && key.verify(pk.blob, pk.signature, pk.hashAlgo as never) === true;
    return verified ? true : { ok: false, reason: 'invalid_signature', username, method };
  }

  /**
   * A keyboard-interactive exchange for the steps due: the password (the hook, or one "Password:"
   * prompt) unless only the TOTP code is missing, then the code ("Authentication code:") when the
   * user has TOTP for SSH and the hook did not check it.
   */
  async #keyboardInteractive(steps: AuthSteps, ctx: AuthContext, s: AuthSettings, user: UserRecord, passed: Factor[]):
      Promise<{ ok: true; passed: Factor[] } | { ok: false; outcome: AuthOutcome }> {
    const username = user.username;
    const label = [...passed, 'keyboard-interactive'].join('+');
    const fail = (reason: string): { ok: false; outcome: AuthOutcome } => ({ ok: false, outcome: { ok: false, reason, username, method: label } });
    const ki = ctx as AuthContext & { prompt(q: Question[], title: string, instructions: string, cb: (answers: string[] | Error) => void): void };
    const prompt = (questions: Question[], instruction: string): Promise<string[] | undefined> => this.#prompt(ki, questions, instruction);
    const attempt: LoginAttempt = { protocol: 'SSH', ip: this.ip, username, method: 'keyboard-interactive' };
    const gained: Factor[] = [];
    // The first factor, or the one a public key calls for; otherwise only the code is missing.
    if (passed.length === 0 || secondFactorDue({ user, passed })) {
      if (s.keyboardInteractiveHook) {
        const v = await runKeyboardInteractiveHook(s.keyboardInteractiveHook, {
          username, ip: this.ip, storedPassword: user.password, prompt, signal: this.signal, log: steps.log,
          checkPassword: async (answer) => (await steps.password(user, attempt, answer)).ok,
          checkTotp: async (answer) => (await steps.totp(user, answer)) === undefined,
        });
        if (!v.ok) return fail(v.reason);
        gained.push('keyboard-interactive');
        if (v.totpChecked) gained.push('totp');
      } else {
        const answers = await prompt([{ prompt: 'Password: ', echo: false }], '');
        if (!answers) return fail('client_disconnected');
        const v = await steps.password(user, attempt, answers[0] ?? '');
        // The one SSH method that can show text: a right password that must be changed says so
        // in an instruction with no questions before the failure.
        const why = v.ok ? undefined : passwordChangeMessage(v.reason);
        if (why) await prompt([], why);
        if (!v.ok) return fail(v.reason);
        gained.push('keyboard-interactive');
      }
    }
    if (totpRequired(user, 'SSH') && !passed.includes('totp') && !gained.includes('totp')) {
      const answers = await prompt([{ prompt: 'Authentication code: ', echo: false }], '');
      if (!answers) return fail('client_disconnected');
      const refused = await steps.totp(user, answers[0] ?? '');
      if (refused) return fail(refused);
      gained.push('totp');
    }
    return { ok: true, passed: gained };
  }

  #prompt(ctx: { prompt(q: Question[], title: string, instructions: string, cb: (answers: string[] | Error) => void): void },
    questions: Question[], instruction: string): Promise<string[] | undefined> {
    return new Promise((resolve) => {
      if (this.signal?.aborted) return resolve(undefined);
      const onAbort = (): void => resolve(undefined);
      this.signal?.addEventListener('abort', onAbort, { once: true });
      ctx.prompt(questions.map((q) => ({ ...q })), '', instruction, (answers) => {
        this.signal?.removeEventListener('abort', onAbort);
        resolve(answers instanceof Error || !Array.isArray(answers) ? undefined : answers);
      });
    });
  }
}

/** The key a client presents, as an authorized_keys line: its type is the first string of the blob. */
function authorizedKeyLine(blob: Buffer): string {
  const len = blob.length >= 4 ? blob.readUInt32BE(0) : 0;
  return `${blob.subarray(4, 4 + len).toString('latin1')} ${blob.toString('base64')}`;
}
