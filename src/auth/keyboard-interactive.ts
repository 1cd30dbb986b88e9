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
import { spawn, type ChildProcess } from 'node:child_process';
import { log } from '../log.ts';

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
  checkTotp(answer: string): boolean;
  /** Aborts the exchange (the client disconnected). */
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

/** Runs the program's question/answer exchange to a verdict. Never throws. */
export async function runKeyboardInteractiveHook(command: string, req: KeyboardInteractiveRequest): Promise<HookVerdict> {
  const timeoutMs = req.timeoutMs ?? KEYBOARD_INTERACTIVE_TIMEOUT_MS;
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    SFTPGO_AUTHD_USERNAME: req.username,
    SFTPGO_AUTHD_IP: req.ip,
    SFTPGO_AUTHD_PASSWORD: req.storedPassword ?? '',
  };
  let child: ChildProcess;
  try {
    child = spawn(command, [], { env, stdio: ['pipe', 'pipe', 'ignore'], detached: true });
  } catch (err) {
    log('warn', 'hook_failed', { hook: 'keyboard_interactive_auth_hook', command, error: (err as Error).message });
    return { ok: false, reason: 'kbdint_hook_error' };
  }
  const kill = (): void => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    try {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    } catch {
      child.kill('SIGKILL');
    }
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
      if (msg.checkPassword === 1) {
        if (!(await race(req.checkPassword(answers[0]!)))) return { ok: false, reason: 'invalid_credentials' };
        write('OK');
      } else if (msg.checkPassword === 2) {
        if (!req.checkTotp(answers[0]!)) return { ok: false, reason: 'totp_invalid' };
        totpChecked = true;
        write('OK');
      } else {
        // One answer per line: a newline inside an answer would shift every later answer.
        for (const a of answers) write(a.replace(/[\r\n]/g, ' '));
      }
    }
    return { ok: false, reason: 'kbdint_hook_too_many_rounds' };
  } catch (err) {
    const reason = err instanceof Stopped ? err.reason : 'kbdint_hook_error';
    if (reason === 'kbdint_hook_timeout') log('warn', 'hook_failed', { hook: 'keyboard_interactive_auth_hook', command, error: `timed out after ${timeoutMs} ms` });
    return { ok: false, reason };
  } finally {
    clearTimeout(timer);
    req.signal?.removeEventListener('abort', onAbort);
    child.stdin!.destroy();
    kill();
  }
}
