// What the HTTP, command and filesystem action types do once a rule runs them: an HTTP request
// (type 1; a multipart body from multipart-body.ts), a program run without a shell (type 2),
// filesystem operations done as a user through the core, so the user's permissions, file patterns
// and quotas apply (type 9; compress in compress.ts). Each throws on failure with a message for the
// run's log line and {{.ErrorString}}.
import { spawn } from 'node:child_process';
import type { EventCommandConfig, EventFsConfig, EventHttpConfig } from '../../config/schema-types.ts';
import type { Secret } from '../../config/secrets.ts';
import { AppError } from '../../errors.ts';
import type { Connection } from '../connection.ts';
import { copyPath } from '../copy.ts';
import { killHookProcess } from '../hooks.ts';
import { cleanVirtualPath, parentOf } from '../paths.ts';
import { runCompress } from './compress.ts';
import { FS_COMPRESS, FS_COPY, FS_DELETE, FS_EXIST, FS_MKDIRS, FS_RENAME } from './model.ts';
import { multipartBody } from './multipart-body.ts';
import { fillPlaceholders, placeholderValues, type EventParams } from './params.ts';

export const DEFAULT_HTTP_TIMEOUT_S = 20;
export const DEFAULT_COMMAND_TIMEOUT_S = 20;

export interface HttpRunOptions {
  /** Opens the basic auth password (stored form) for the request. */
  resolveSecret: (s: Secret) => string | undefined;
  /** Shutdown: the request is aborted. */
  signal: AbortSignal;
  /** Runs `fn` over the event user's tree (file parts); absent when the run has no user. */
  asEventUser?: (fn: (conn: Connection) => Promise<void>) => Promise<void>;
}

/** A body is JSON when a Content-Type header says so: its placeholders are then JSON-escaped. */
function hasJsonBody(c: EventHttpConfig): boolean {
  const ct = c.headers?.find((h) => h.key.toLowerCase() === 'content-type');
  return ct?.value?.toLowerCase().includes('application/json') ?? false;
}

export async function runHttpAction(c: EventHttpConfig, params: EventParams, opts: HttpRunOptions): Promise<void> {
  const method = c.method ?? 'POST';
  const parts = method === 'GET' ? [] : (c.parts ?? []);
  if (!parts.some((p) => p.filepath)) return sendHttp(c, params, opts);
  if (!opts.asEventUser) throw new Error('file parts are files of the event\'s user: this run has no user');
  await opts.asEventUser((conn) => sendHttp(c, params, opts, conn));
}

/** One request; `conn` is the event user's tree for file parts. */
async function sendHttp(c: EventHttpConfig, params: EventParams, opts: HttpRunOptions, conn?: Connection): Promise<void> {
  const values = placeholderValues(params);
  const fill = (s: string | undefined) => fillPlaceholders(s ?? '', values);
  const url = new URL(fill(c.endpoint));
  for (const q of c.query_parameters ?? []) url.searchParams.append(q.key, fill(q.value));
  const method = c.method ?? 'POST';
  const headers = new Headers();
  const multipart = method !== 'GET' && c.parts?.length ? multipartBody({ parts: c.parts, values, ...(conn ? { conn } : {}) }) : undefined;
  if (multipart) headers.set('content-type', multipart.contentType);
  const password = c.password !== undefined ? (opts.resolveSecret(c.password) ?? '') : '';
  if (c.username || password) headers.set('authorization', `Basic ${Buffer.from(`${fill(c.username)}:${password}`).toString('base64')}`);
  for (const h of c.headers ?? []) headers.set(h.key, fill(h.value));
  const body = multipart?.stream ?? (method === 'GET' || !c.body ? undefined : fillPlaceholders(c.body, values, hasJsonBody(c) ? 'json' : 'none'));
  const timeoutMs = (c.timeout ?? DEFAULT_HTTP_TIMEOUT_S) * 1000;
  // As SFTPGo: a request uploading files has no deadline (a large file may take long); shutdown still cancels it.
  const timeout = conn ? new AbortController().signal : AbortSignal.timeout(timeoutMs);
  // Bun's fetch reads `tls`; the standard RequestInit has no such field.
  const init: RequestInit & { tls?: { rejectUnauthorized: boolean } } = {
    method,
    headers,
    signal: AbortSignal.any([timeout, opts.signal]),
    ...(body !== undefined ? { body } : {}),
    ...(c.skip_tls_verify ? { tls: { rejectUnauthorized: false } } : {}),
  };
  let res: Response;
  try {
    res = await fetch(url, init);
  } catch (err) {
    if (timeout.aborted) throw new Error(`HTTP request to ${url.host} timed out after ${timeoutMs} ms`);
    await multipart?.stream.cancel().catch(() => undefined);
    throw new Error(`error sending HTTP request to ${url.host}: ${(err as Error).message ?? err}`);
  }
  await res.body?.cancel().catch(() => undefined);
  // SFTPGo's range: 200 to 204.
  if (res.status < 200 || res.status > 204) throw new Error(`unexpected status code: ${res.status}`);
}

export interface CommandRunOptions {
  /** common.event_manager.enabled_commands, read at run time: a reload that drops a program stops it. */
  enabledCommands: readonly string[];
  signal: AbortSignal;
}

/** Runs the program without a shell; its environment is only env_vars ("$" passes the server's own value). */
export function runCommandAction(c: EventCommandConfig, params: EventParams, opts: CommandRunOptions): Promise<void> {
  if (!opts.enabledCommands.includes(c.cmd)) return Promise.reject(new Error(`command "${c.cmd}" is not allowed`));
  const values = placeholderValues(params);
  const args = (c.args ?? []).map((a) => fillPlaceholders(a, values));
  const env: Record<string, string> = {};
  for (const kv of c.env_vars ?? [])
    env[kv.key] = kv.value === '$' && !kv.key.toUpperCase().startsWith('SFTPGO_') ? (process.env[kv.key] ?? '') : fillPlaceholders(kv.value ?? '', values);
  const timeoutMs = (c.timeout ?? DEFAULT_COMMAND_TIMEOUT_S) * 1000;
  return new Promise((resolve, reject) => {
    const child = spawn(c.cmd, args, { env, stdio: 'ignore', detached: true });
    const kill = () => killHookProcess(child);
    const timer = setTimeout(() => (kill(), reject(new Error(`command timed out after ${timeoutMs} ms`))), timeoutMs);
    const cancel = () => (kill(), reject(new Error('cancelled')));
    opts.signal.addEventListener('abort', cancel, { once: true });
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${c.cmd}: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      opts.signal.removeEventListener('abort', cancel);
      if (code === 0) resolve();
      else reject(new Error(code === null ? `command killed by ${signal}` : `command exited with code ${code}`));
    });
  });
}

/** A virtual path from a template: placeholders filled, then cleaned ("/" for an empty result). */
function vpathOf(template: string, values: ReadonlyMap<string, string>): string {
  return cleanVirtualPath(fillPlaceholders(template, values));
}

function isNotFound(err: unknown): boolean {
  return err instanceof AppError && err.code === 'not_found';
}

/** Creates `dir` and its missing parents, each with the user's create_dirs permission checked. */
export async function mkdirAll(conn: Connection, dir: string): Promise<void> {
  if (dir === '/') return;
  const st = await conn.fs.probe(dir);
  if (st) {
    if (st.type !== 'dir') throw new AppError('invalid', `${dir} exists and is not a directory`);
    return;
  }
  await mkdirAll(conn, parentOf(dir));
  await conn.fs.mkdir(dir);
}

/** Runs a filesystem action for one user, over `conn` (that user's tree). */
export async function runFsAction(c: EventFsConfig, params: EventParams, conn: Connection): Promise<void> {
  const values = placeholderValues(params);
  const fs = conn.fs;
  switch (c.type) {
    case FS_RENAME:
      for (const r of c.renames ?? []) {
        const from = vpathOf(r.key, values);
        const to = vpathOf(r.value, values);
        await mkdirAll(conn, parentOf(to));
        await fs.rename(from, to, true);
        if (r.update_modtime) await fs.setAttrs(to, { mtimeMs: Date.now(), atimeMs: Date.now() });
      }
      return;
    case FS_DELETE:
      for (const t of c.deletes ?? []) {
        const p = vpathOf(t, values);
        const st = await fs.stat(p, false).catch((err: unknown) => {
          if (isNotFound(err)) return undefined;
          throw err;
        });
        if (!st) continue;
        if (st.type === 'dir') await fs.rmdir(p);
        else await fs.remove(p);
      }
      return;
    case FS_MKDIRS:
      for (const t of c.mkdirs ?? []) await mkdirAll(conn, vpathOf(t, values));
      return;
    case FS_EXIST:
      for (const t of c.exist ?? []) await fs.stat(vpathOf(t, values));
      return;
    case FS_COMPRESS:
      return runCompress(c.compress ?? {}, { conn, values, mkdirAll });
    case FS_COPY:
      for (const kv of c.copy ?? []) {
        // A trailing "/" keeps its meaning (copy into / copy the contents), as SFTPGo.
        const from = vpathOf(kv.key, values) + (kv.key.endsWith('/') ? '/' : '');
        const to = vpathOf(kv.value ?? '', values) + ((kv.value ?? '').endsWith('/') ? '/' : '');
        await copyPath({ conn, from: from.replace(/\/\/$/, '/'), to: to.replace(/\/\/$/, '/') });
      }
      return;
    default:
      throw new Error(`unsupported filesystem action ${c.type}`);
  }
}
