// Share links (SFTPGo's shares): their validation, as SFTPGo validates a share, and their writes.
// A share is runtime state owned by one user: the user API creates it, the public share endpoints
// spend its uses, dumps carry it, and deleting the user deletes it (records.ts). Every write runs in
// one store transaction, so two requests racing for a share's last use cannot both get it.
import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import { AppError } from '../errors.ts';
import { inCidr, normaliseIpOrNet } from '../lib/cidr.ts';
import type { ReadTx, ShareRecord, ShareScope, Store } from './store.ts';

/** What a GET shows instead of a share's password hash (SFTPGo's). */
export const REDACTED_PASSWORD = '[**redacted**]';

/** The fields a client sets; the rest (id, owner, times, used tokens) is the server's. */
export type ShareSpec = Pick<ShareRecord, 'name' | 'scope' | 'paths'> &
  Partial<Pick<ShareRecord, 'description' | 'expires_at' | 'max_tokens' | 'allow_from'>> & {
    /** Clear text, a hash (a restore), or absent: no password. */
    password?: string;
  };

const ID_ALPHABET = '0123456789abcdefghijklmnopqrstuv';

/**
 * A new share id: 20 characters of SFTPGo's base32hex alphabet, so it looks like SFTPGo's, but
 * random (100 bits): without a password the id is the only secret a share has.
 */
export function newShareId(): string {
  const bytes = randomBytes(20);
  let id = '';
  for (const b of bytes) id += ID_ALPHABET[b & 31];
  return id;
}

function invalid(message: string): AppError {
  return new AppError('invalid', message);
}

/** SFTPGo's rule for names: no slashes, colons, wildcards, control characters, "." or "..". */
function nameValid(name: string): boolean {
  if (name.length === 0 || name.length > 255 || name === '.' || name === '..') return false;
  return !/[/\\:*?"<>|\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u.test(name);
}

/** A client path as an absolute, clean virtual path ("/a/../b/" is "/b"; ".." stops at "/"). */
export function cleanSharePath(p: string): string {
  if (p.includes('\0')) throw invalid('a shared path contains a NUL byte');
  let clean = posix.normalize(`/${p}`);
  if (clean.length > 1 && clean.endsWith('/')) clean = clean.slice(0, -1);
  return clean;
}

function overlaps(a: string, b: string): boolean {
  return a === '/' || b === '/' || a === b || a.startsWith(`${b}/`) || b.startsWith(`${a}/`);
}

function optionalNumber(body: Record<string, unknown>, key: string): number | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw invalid(`${key} must be an integer`);
  return v;
}

function optionalString(body: Record<string, unknown>, key: string): string | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw invalid(`${key} must be a string`);
  return v;
}

export interface CheckShareOptions {
  now: number;
  /** A restore (dump, import) keeps an expiration already past, as SFTPGo's restore does. */
  restore?: boolean;
  /** The name when the body has none (SFTPGo names a new share after its id). */
  defaultName?: string;
}

/**
 * A client's share body as SFTPGo validates it: a valid name, scope 1 to 3, at least one path
 * (cleaned, duplicates dropped, none nested in another), exactly one for a write scope, an
 * expiration in the future, max_tokens not negative, allow_from networks in CIDR notation.
 * Throws AppError('invalid') with SFTPGo's message.
 */
export function checkShareSpec(body: Record<string, unknown>, opts: CheckShareOptions): ShareSpec {
  const name = optionalString(body, 'name') || opts.defaultName || '';
  if (!name) throw invalid('name is mandatory');
  if (!nameValid(name)) throw invalid('Invalid input. Slashes (/ ), colons (:), control characters, and reserved system names are not allowed');
  const scope = body.scope;
  if (scope !== 1 && scope !== 2 && scope !== 3) throw invalid(`invalid scope: ${JSON.stringify(scope ?? 0)}`);
  if (body.paths !== undefined && body.paths !== null && (!Array.isArray(body.paths) || body.paths.some((p) => typeof p !== 'string')))
    throw invalid('paths must be a list of strings');
  const given = ((body.paths as string[] | null | undefined) ?? []).filter((p) => p.trim() !== '');
  if (given.length === 0) throw invalid('at least a shared path is required');
  const paths = [...new Set(given.map(cleanSharePath))];
  if (scope >= 2 && paths.length !== 1) throw invalid('the write share scope requires exactly one path');
  for (let i = 0; i < paths.length; i++)
    for (let j = i + 1; j < paths.length; j++) if (overlaps(paths[i]!, paths[j]!)) throw invalid('shared paths cannot be nested');
  const expiresAt = optionalNumber(body, 'expires_at') ?? 0;
  if (expiresAt > 0 && !opts.restore && expiresAt < opts.now) throw invalid('expiration must be in the future');
  const maxTokens = optionalNumber(body, 'max_tokens') ?? 0;
  if (maxTokens < 0) throw invalid('invalid max tokens');
  const password = optionalString(body, 'password');
  if (password === REDACTED_PASSWORD) throw invalid('cannot save a share with a redacted password');
  if (body.allow_from !== undefined && body.allow_from !== null && (!Array.isArray(body.allow_from) || body.allow_from.some((p) => typeof p !== 'string')))
    throw invalid('allow_from must be a list of strings');
  const allowFrom: string[] = [];
  for (const entry of new Set((body.allow_from as string[] | null | undefined) ?? [])) {
    // SFTPGo parses each entry as a CIDR network: a bare address is refused.
    const net = entry.includes('/') ? normaliseIpOrNet(entry) : undefined;
    if (!net) throw invalid(`could not parse allow from entry "${entry}" : invalid CIDR address: ${entry}`);
    allowFrom.push(entry.trim());
  }
  const description = optionalString(body, 'description');
  return {
    name,
    scope,
    paths,
    ...(description ? { description } : {}),
    ...(expiresAt > 0 ? { expires_at: expiresAt } : {}),
    ...(maxTokens > 0 ? { max_tokens: maxTokens } : {}),
    ...(password ? { password } : {}),
    ...(allowFrom.length ? { allow_from: allowFrom } : {}),
  };
}

/** The share as the API shows it: the password hash redacted, unset values left out. */
export function renderShare(s: ShareRecord): Record<string, unknown> {
  const { password, ...rest } = s;
  return { ...rest, password: password ? REDACTED_PASSWORD : '' };
}

/** The share with this id; with `username`, only if that user owns it (SFTPGo's lookup). */
export async function getShare(tx: ReadTx, id: string, username?: string): Promise<ShareRecord | undefined> {
  if (!id) return undefined;
  const s = await tx.get('shares', id);
  return s && (username === undefined || s.username === username) ? s : undefined;
}

export function shareNotFound(id: string): AppError {
  return new AppError('not_found', `Share "${id}" does not exist`);
}

/** One user's shares in id order (SFTPGo's ASC; `desc` for DESC), `offset` skipped, at most `limit`. */
export async function listShares(tx: ReadTx, username: string, page: { offset: number; limit: number; desc?: boolean }): Promise<ShareRecord[]> {
  const all: ShareRecord[] = [];
  for await (const [, s] of tx.entries('shares')) if (s.username === username) all.push(s);
  if (page.desc) all.reverse();
  return all.slice(page.offset, page.offset + page.limit);
}

export interface ShareWrite {
  store: Store;
  now: number;
  /** The stored form of a clear password (hashed as users' passwords are). */
  hash: (clear: string) => Promise<string>;
  /** A hash as stored already (a restore): kept as is. */
  isHash: (value: string) => boolean;
}

async function storedPassword(w: ShareWrite, password: string | undefined): Promise<string | undefined> {
  if (!password) return undefined;
  return w.isHash(password) ? password : w.hash(password);
}

/** Adds a share for `username` under a new id; the user must exist. Returns what was stored. */
export async function addShare(w: ShareWrite, username: string, id: string, spec: ShareSpec): Promise<ShareRecord> {
  const password = await storedPassword(w, spec.password);
  return w.store.write(async (tx) => {
    if (await tx.get('shares', id)) throw new AppError('exists', `share "${id}" already exists`);
    if (!(await tx.get('users', username))) throw invalid(`related user "${username}" does not exists`);
    const { password: _clear, ...fields } = spec;
    const rec: ShareRecord = { ...fields, id, username, created_at: w.now, updated_at: w.now, ...(password ? { password } : {}) };
    await tx.put('shares', id, rec);
    return rec;
  });
}

/**
 * Replaces a share's definition, keeping its owner, creation time and uses. A password of
 * REDACTED_PASSWORD (a GET sent back) keeps the current one; none removes it.
 */
export async function updateShare(w: ShareWrite, username: string, id: string, spec: ShareSpec, keepPassword: boolean): Promise<ShareRecord> {
  const password = keepPassword ? undefined : await storedPassword(w, spec.password);
  return w.store.write(async (tx) => {
    const current = await getShare(tx, id, username);
    if (!current) throw shareNotFound(id);
    const { password: _clear, ...fields } = spec;
    const kept = keepPassword ? current.password : password;
    const rec: ShareRecord = {
      ...fields,
      id,
      username,
      created_at: current.created_at,
      updated_at: w.now,
      ...(current.last_use_at ? { last_use_at: current.last_use_at } : {}),
      ...(current.used_tokens ? { used_tokens: current.used_tokens } : {}),
      ...(kept ? { password: kept } : {}),
    };
    await tx.put('shares', id, rec);
    return rec;
  });
}

export async function deleteShare(store: Store, username: string, id: string): Promise<void> {
  await store.write(async (tx) => {
    if (!(await getShare(tx, id, username))) throw shareNotFound(id);
    await tx.remove('shares', id);
  });
}

/**
 * Spends `uses` of a share (a negative number gives back uses a failed request reserved), and
 * stamps its last use. Refused, changing nothing, when max_tokens would be passed: SFTPGo counts
 * each download or uploaded file as one use and reserves them before the transfer.
 */
export async function spendShareUses(store: Store, id: string, uses: number, now: number): Promise<ShareRecord> {
  return store.write(async (tx) => {
    const s = await tx.get('shares', id);
    if (!s) throw shareNotFound(id);
    const used = s.used_tokens ?? 0;
    if (uses > 0 && s.max_tokens && used + uses > s.max_tokens) throw new AppError('not_found', 'max share usage exceeded');
    const rec: ShareRecord = { ...s, last_use_at: now, used_tokens: Math.max(0, used + uses) };
    await tx.put('shares', id, rec);
    return rec;
  });
}

/** SFTPGo's checks before a share is used: uses left, not expired, the client address allowed. */
export function shareRefusal(s: ShareRecord, ip: string, now: number): { status: 403 | 404; message: string } | undefined {
  if (s.max_tokens && (s.used_tokens ?? 0) >= s.max_tokens) return { status: 404, message: 'max share usage exceeded' };
  if (s.expires_at && s.expires_at < now) return { status: 404, message: 'share expired' };
  if (s.allow_from?.length && !s.allow_from.some((net) => inCidr(ip, net))) return { status: 403, message: 'login is not allowed from this IP' };
  return undefined;
}

export type { ShareRecord, ShareScope };
