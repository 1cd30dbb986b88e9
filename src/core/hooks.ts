// Running an operator's hook: an HTTP(S) URL gets the payload as a JSON POST; anything else is a
// program run without a shell, with a minimal environment (PATH plus the event's own variables) and
// the payload in SFTPGO_* variables. Every run has a timeout; a program that outlives it is killed
// with its process group. A hook never throws: failures come back as a result the caller judges
// (pre-* hooks deny on anything but success, post-* hooks only log).
import { spawn, type ChildProcess } from 'node:child_process';
import type { Log } from '../log.ts';

/** Output beyond this is cut: a hook that prints without end must not fill memory. */
const MAX_OUTPUT = 1 << 20;
export const DEFAULT_HOOK_TIMEOUT_MS = 30_000;

export interface HookRun {
  /** Names the hook in logs: "pre_login_hook", "external_auth_hook", "actions"... */
  name: string;
  /** Environment variables for a program hook (added to PATH only). */
  env?: Record<string, string | number | undefined>;
  /** The JSON body for an HTTP hook; also given to a program on stdin when `stdin` is true. */
  payload?: unknown;
  stdin?: boolean;
  timeoutMs?: number;
  /** Extra query parameters for an HTTP hook (SFTPGo's post-connect passes ip and protocol so). */
  query?: Record<string, string>;
  /** HTTP method; GET sends no body (SFTPGo's post-connect and post-disconnect hooks). Default POST. */
  method?: 'GET' | 'POST';
  /** Ends the run early (shutdown): the request is aborted, the program killed. */
  signal?: AbortSignal;
  /** The server's log for failures and stderr. */
  log: Log;
}

export type HookResult =
  /** A program exited with `code`, or an HTTP endpoint answered `status`; `output` is stdout or the body. */
  | { ok: true; kind: 'program'; code: number; output: string }
  | { ok: true; kind: 'http'; status: number; output: string }
  /** It could not run, timed out, or was killed: `error` says which. */
  | { ok: false; kind: 'program' | 'http'; error: string };

export function isHttpHook(command: string): boolean {
  return /^https?:\/\//i.test(command.trim());
}

/** True for a program exiting 0 or an HTTP answer 2xx. */
export function hookSucceeded(r: HookResult): boolean {
  if (!r.ok) return false;
  return r.kind === 'program' ? r.code === 0 : r.status >= 200 && r.status < 300;
}

export async function runHook(command: string, run: HookRun): Promise<HookResult> {
  const started = Date.now();
  const result = isHttpHook(command) ? await runHttp(command.trim(), run) : await runProgram(command, run);
  const ms = Date.now() - started;
  const log = run.log;
  if (!result.ok) log('warn', 'hook_failed', { hook: run.name, command: redact(command), error: result.error, duration_ms: ms });
  else log('debug', 'hook_done', { hook: run.name, ...(result.kind === 'program' ? { code: result.code } : { status: result.status }), duration_ms: ms });
  return result;
}

/** URLs may carry credentials: logs show the scheme and host only. */
function redact(command: string): string {
  if (!isHttpHook(command)) return command;
  try {
    const u = new URL(command.trim());
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '<invalid url>';
  }
}

async function runHttp(url: string, run: HookRun): Promise<HookResult> {
  const timeoutMs = run.timeoutMs ?? DEFAULT_HOOK_TIMEOUT_MS;
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), timeoutMs);
  try {
    const u = new URL(url);
    for (const [k, v] of Object.entries(run.query ?? {})) u.searchParams.set(k, v);
    const signal = run.signal ? AbortSignal.any([ctl.signal, run.signal]) : ctl.signal;
    const res = await fetch(
      u,
      run.method === 'GET'
        ? { method: 'GET', signal }
        : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(run.payload ?? {}), signal },
    );
    const output = await readLimited(res);
    return { ok: true, kind: 'http', status: res.status, output };
  } catch (err) {
    const error = ctl.signal.aborted ? `timed out after ${timeoutMs} ms` : run.signal?.aborted ? 'cancelled' : String((err as Error)?.message ?? err);
    return { ok: false, kind: 'http', error };
  } finally {
    clearTimeout(timer);
  }
}

async function readLimited(res: Response): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    size += value.byteLength;
    if (size > MAX_OUTPUT) {
      await reader.cancel();
      break;
    }
  }
  return Buffer.concat(parts).subarray(0, MAX_OUTPUT).toString('utf8');
}

/** A hook program's whole environment: PATH and the event's own variables, nothing else. */
export function hookEnvironment(vars: Record<string, string | number | undefined>): Record<string, string> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin' };
  for (const [k, v] of Object.entries(vars)) if (v !== undefined) env[k] = String(v);
  return env;
}

/** Kills a hook program started with `detached: true` together with everything it started. */
export function killHookProcess(child: ChildProcess): void {
  try {
    if (child.pid) process.kill(-child.pid, 'SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
}

function runProgram(command: string, run: HookRun): Promise<HookResult> {
  const timeoutMs = run.timeoutMs ?? DEFAULT_HOOK_TIMEOUT_MS;
  const env = hookEnvironment(run.env ?? {});
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: HookResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(command, [], { env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    } catch (err) {
      resolve({ ok: false, kind: 'program', error: String((err as Error).message) });
      return;
    }
    const out: Buffer[] = [];
    let size = 0;
    child.stdout!.on('data', (b: Buffer) => {
      if (size < MAX_OUTPUT) out.push(b);
      size += b.length;
    });
    const errTail: Buffer[] = [];
    child.stderr!.on('data', (b: Buffer) => {
      if (errTail.length < 16) errTail.push(b);
    });
    const kill = (): void => killHookProcess(child);
    const timer = setTimeout(() => {
      kill();
      done({ ok: false, kind: 'program', error: `timed out after ${timeoutMs} ms` });
    }, timeoutMs);
    const cancel = (): void => {
      kill();
      done({ ok: false, kind: 'program', error: 'cancelled' });
    };
    if (run.signal?.aborted) cancel();
    else run.signal?.addEventListener('abort', cancel, { once: true });
    child.on('close', () => run.signal?.removeEventListener('abort', cancel));
    child.on('error', (err) => done({ ok: false, kind: 'program', error: err.message }));
    child.on('close', (code, signal) => {
      if (code === null) return done({ ok: false, kind: 'program', error: `killed by ${signal}` });
      const stderr = Buffer.concat(errTail).toString('utf8').trim();
      if (stderr) run.log('debug', 'hook_stderr', { hook: run.name, stderr: stderr.slice(0, 2000) });
      done({ ok: true, kind: 'program', code, output: Buffer.concat(out).subarray(0, MAX_OUTPUT).toString('utf8') });
    });
    child.stdin!.on('error', () => undefined);
    if (run.stdin && run.payload !== undefined) child.stdin!.end(JSON.stringify(run.payload));
    else child.stdin!.end();
  });
}
