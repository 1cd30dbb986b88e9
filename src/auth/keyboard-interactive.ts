// Keyboard-interactive authentication driven by an operator's program (sftpd.keyboard_interactive_auth_hook),
// with SFTPGo's protocol: the program gets SFTPGO_AUTHD_USERNAME, SFTPGO_AUTHD_IP and
// SFTPGO_AUTHD_PASSWORD (the stored hash) in its environment and writes one JSON object per line:
//
//   {"instruction": "...", "questions": ["..."], "echos": [true], "check_password": 0|1|2, "auth_result": 0}
//
// Each set of questions is put to the client; the answers go back to the program on stdin, one per
// line. With check_password 1 (the stored password) or 2 (the user's TOTP) the one answer is checked
// here instead and the program reads "OK" (a wrong answer ends the login). A line with auth_result 1
// accepts, any other non-zero value refuses. The whole exchange has one deadline; the program is
// killed (its process group) on timeout, on a disconnect and when it is done. Anything else from
// the program (not JSON, mismatched lists, no questions) refuses the login.
//
// An http(s) URL instead of a program gets one POST per round with {request_id, username, ip,
// password, questions, answers} (questions and answers null at first) and answers 200 with the same
// JSON object a program would print.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { hookEnvironment, isHttpHook, killHookProcess } from '../core/hooks.ts';
import type { Log } from '../log.ts';

export const KEYBOARD_INTERACTIVE_TIMEOUT_MS = 60_000;
const MAX_LINE = 64 * 1024;
const MAX_ROUNDS = 32;
const MAX_QUESTIONS = 16;

export interface Question {
  prompt: string;
  echo: boolean;
}

/** Puts questions to the client; resolves with its answers, or undefined when the client went away. */
export type Prompter = (questions: Question[], instruction: string) => Promise<string[] | undefined>;

export interface KeyboardInteractiveRequest {
  username: string;
  ip: string;
  /** The stored password hash, given to the program as SFTPGO_AUTHD_PASSWORD. */
  storedPassword?: string;
  prompt: Prompter;
  /** check_password 1: is `answer` the user's password? */
  checkPassword(answer: string): Promise<boolean>;
  /** check_password 2: is `answer` the user's current TOTP code? */
  checkTotp(answer: string): boolean | Promise<boolean>;
  /** Aborts the exchange (the client disconnected). */
  /** The server's log for hook failures. */
  log: Log;
  signal?: AbortSignal;
  timeoutMs?: number;
}

export type HookVerdict = { ok: true; totpChecked: boolean } | { ok: false; reason: string };

interface HookMessage {
  instruction: string;
  questions: string[];
  echos: boolean[];
  checkPassword: number;
  authResult: number;
}

/** Validates one line from the program; undefined when it is not a message of the protocol. */
export function parseHookLine(line: string): HookMessage | undefined {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const o = v as Record<string, unknown>;
  const authResult = o.auth_result ?? 0;
  const checkPassword = o.check_password ?? 0;
  const instruction = o.instruction ?? '';
  const questions = o.questions ?? [];
  const echos = o.echos ?? [];
  if (typeof authResult !== 'number' || !Number.isInteger(authResult)) return undefined;
  if (checkPassword !== 0 && checkPassword !== 1 && checkPassword !== 2) return undefined;
  if (typeof instruction !== 'string') return undefined;
  if (!Array.isArray(questions) || !questions.every((q) => typeof q === 'string')) return undefined;
  if (!Array.isArray(echos) || !echos.every((e) => typeof e === 'boolean')) return undefined;
  if (authResult === 0) {
    if (questions.length === 0 || questions.length > MAX_QUESTIONS || echos.length !== questions.length) return undefined;
    if (checkPassword !== 0 && questions.length !== 1) return undefined;
  }
  return { instruction, questions: questions as string[], echos: echos as boolean[], checkPassword, authResult };
}

/** Line reader over a child's stdout that hands out one line at a time. */
class Lines {
  #buf = '';
  #lines: string[] = [];
  #waiter?: (line: string | undefined) => void;
  #ended = false;
  #overflow = false;

  constructor(child: ChildProcess) {
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      this.#buf += chunk;
      let nl: number;
      while ((nl = this.#buf.indexOf('\n')) >= 0) {
        const line = this.#buf.slice(0, nl).trim();
        this.#buf = this.#buf.slice(nl + 1);
        if (line !== '') this.#push(line);
      }
      if (this.#buf.length > MAX_LINE) {
        this.#overflow = true;
        this.#end();
      }
    });
    child.stdout!.on('end', () => {
      const rest = this.#buf.trim();
      this.#buf = '';
      if (rest !== '' && !this.#overflow) this.#push(rest);
      this.#end();
    });
  }

  #push(line: string): void {
    if (this.#waiter) {
      const w = this.#waiter;
      this.#waiter = undefined;
      w(line);
    } else this.#lines.push(line);
  }

  #end(): void {
    this.#ended = true;
    if (this.#waiter) {
      const w = this.#waiter;
      this.#waiter = undefined;
      w(undefined);
    }
  }

  next(): Promise<string | undefined> {
    const line = this.#lines.shift();
    if (line !== undefined) return Promise.resolve(line);
    if (this.#ended) return Promise.resolve(undefined);
    return new Promise((resolve) => (this.#waiter = resolve));
  }
}

class Stopped extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

/** Runs the hook's question/answer exchange to a verdict. Never throws. */
export function runKeyboardInteractiveHook(command: string, req: KeyboardInteractiveRequest): Promise<HookVerdict> {
  return isHttpHook(command) ? runHttp(command.trim(), req) : runProgram(command, req);
}

/**
 * One round's answers as the hook reads them: the client's, or "OK" for a question the server
 * checked itself (check_password 1 or 2). Undefined, with the reason, when the check failed.
 */
async function roundAnswers(msg: HookMessage, answers: string[], req: KeyboardInteractiveRequest, check: <T>(p: Promise<T>) => Promise<T>):
    Promise<{ answers: string[]; totp: boolean } | { reason: string }> {
  if (msg.checkPassword === 1) {
    if (!(await check(req.checkPassword(answers[0]!)))) return { reason: 'invalid_credentials' };
    return { answers: ['OK'], totp: false };
  }
  if (msg.checkPassword === 2) {
    if (!(await check(Promise.resolve(req.checkTotp(answers[0]!))))) return { reason: 'totp_invalid' };
    return { answers: ['OK'], totp: true };
  }
  return { answers, totp: false };
}

async function runHttp(url: string, req: KeyboardInteractiveRequest): Promise<HookVerdict> {
  const timeoutMs = req.timeoutMs ?? KEYBOARD_INTERACTIVE_TIMEOUT_MS;
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(new Stopped('kbdint_hook_timeout')), timeoutMs);
  const onAbort = (): void => ctl.abort(new Stopped('client_disconnected'));
  req.signal?.addEventListener('abort', onAbort, { once: true });
  if (req.signal?.aborted) onAbort();
  const stopped = new Promise<never>((_, reject) => ctl.signal.addEventListener('abort', () => reject(ctl.signal.reason), { once: true }));
  stopped.catch(() => undefined);
  const race = <T>(p: Promise<T>): Promise<T> => Promise.race([p, stopped]);
  const base = { request_id: randomUUID(), username: req.username, ip: req.ip, password: req.storedPassword ?? '' };
  let questions: string[] | null = null;
  let answers: string[] | null = null;
  let totpChecked = false;
  try {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const res: Response = await race(fetch(url, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ...base, questions, answers }), signal: ctl.signal,
      }));
      const text: string = await race(res.text());
      if (res.status !== 200) return { ok: false, reason: 'kbdint_hook_denied' };
      const msg: HookMessage | undefined = text.length <= MAX_LINE ? parseHookLine(text) : undefined;
      if (!msg) return { ok: false, reason: 'kbdint_hook_bad_output' };
      if (msg.authResult === 1) return { ok: true, totpChecked };
      if (msg.authResult !== 0) return { ok: false, reason: 'kbdint_hook_denied' };
      const given = await race(req.prompt(msg.questions.map((prompt, i) => ({ prompt, echo: msg.echos[i]! })), msg.instruction));
      if (given === undefined) return { ok: false, reason: 'client_disconnected' };
      if (given.length !== msg.questions.length) return { ok: false, reason: 'kbdint_bad_answers' };
      const r = await roundAnswers(msg, given, req, race);
      if ('reason' in r) return { ok: false, reason: r.reason };
      totpChecked ||= r.totp;
      questions = msg.questions;
      answers = r.answers;
    }
    return { ok: false, reason: 'kbdint_hook_too_many_rounds' };
  } catch (err) {
    const reason = err instanceof Stopped ? err.reason : ctl.signal.reason instanceof Stopped ? ctl.signal.reason.reason : 'kbdint_hook_error';
    if (reason !== 'client_disconnected') req.log('warn', 'hook_failed', { hook: 'keyboard_interactive_auth_hook', command: hookOrigin(url), error: reason });
    return { ok: false, reason };
  } finally {
    clearTimeout(timer);
    req.signal?.removeEventListener('abort', onAbort);
  }
}

/** URLs may carry credentials: logs show the origin and path only. */
function hookOrigin(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '<invalid url>';
  }
}

async function runProgram(command: string, req: KeyboardInteractiveRequest): Promise<HookVerdict> {
  const timeoutMs = req.timeoutMs ?? KEYBOARD_INTERACTIVE_TIMEOUT_MS;
  const env = hookEnvironment({ SFTPGO_AUTHD_USERNAME: req.username, SFTPGO_AUTHD_IP: req.ip, SFTPGO_AUTHD_PASSWORD: req.storedPassword ?? '' });
  let child: ChildProcess;
  try {
    child = spawn(command, [], { env, stdio: ['pipe', 'pipe', 'ignore'], detached: true });
  } catch (err) {
    req.log('warn', 'hook_failed', { hook: 'keyboard_interactive_auth_hook', command, error: (err as Error).message });
    return { ok: false, reason: 'kbdint_hook_error' };
  }
  const kill = (): void => {
    if (child.exitCode === null && child.signalCode === null) killHookProcess(child);
  };
  let stop!: (reason: string) => void;
  const stopped = new Promise<never>((_, reject) => (stop = (reason) => reject(new Stopped(reason))));
  stopped.catch(() => undefined);
  const timer = setTimeout(() => stop('kbdint_hook_timeout'), timeoutMs);
  const onAbort = (): void => stop('client_disconnected');
  req.signal?.addEventListener('abort', onAbort, { once: true });
  if (req.signal?.aborted) onAbort();
  child.on('error', () => stop('kbdint_hook_error'));
  child.stdin!.on('error', () => undefined);
  const lines = new Lines(child);
  const race = <T>(p: Promise<T>): Promise<T> => Promise.race([p, stopped]);
  const write = (line: string): void => {
    child.stdin!.write(`${line}\n`);
  };
  let totpChecked = false;
  try {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const line = await race(lines.next());
      if (line === undefined) return { ok: false, reason: 'kbdint_hook_no_result' };
      const msg = parseHookLine(line);
      if (!msg) return { ok: false, reason: 'kbdint_hook_bad_output' };
      if (msg.authResult === 1) return { ok: true, totpChecked };
      if (msg.authResult !== 0) return { ok: false, reason: 'kbdint_hook_denied' };
      const questions = msg.questions.map((prompt, i) => ({ prompt, echo: msg.echos[i]! }));
      const answers = await race(req.prompt(questions, msg.instruction));
      if (answers === undefined) return { ok: false, reason: 'client_disconnected' };
      if (answers.length !== questions.length) return { ok: false, reason: 'kbdint_bad_answers' };
      const r = await roundAnswers(msg, answers, req, race);
      if ('reason' in r) return { ok: false, reason: r.reason };
      totpChecked ||= r.totp;
      // One answer per line: a newline inside an answer would shift every later answer.
      for (const a of r.answers) write(a.replace(/[\r\n]/g, ' '));
    }
    return { ok: false, reason: 'kbdint_hook_too_many_rounds' };
  } catch (err) {
    const reason = err instanceof Stopped ? err.reason : 'kbdint_hook_error';
    if (reason === 'kbdint_hook_timeout') req.log('warn', 'hook_failed', { hook: 'keyboard_interactive_auth_hook', command, error: `timed out after ${timeoutMs} ms` });
    return { ok: false, reason };
  } finally {
    clearTimeout(timer);
    req.signal?.removeEventListener('abort', onAbort);
    child.stdin!.destroy();
    kill();
  }
}
