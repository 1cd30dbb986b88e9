// Users that a login hook (external auth, pre-login) defines: the hook's JSON is checked against the
// config schema's User definition, normalised the way reconcile normalises YAML users, and stored
// as a runtime-owned record (source 'runtime') in one transaction.
//
// A user the YAML declares is never written over: a hook answer for such a user is accepted only
// when it changes nothing the config controls; otherwise the login is refused and one
// `hook_user_conflict` line says why. The config file stays the one place such a user is edited.
import { dirname, resolve } from 'node:path';
import { validateBody } from '../config/validate.ts';
import type { User } from '../config/schema-types.ts';
import type { UserRecord } from '../model.ts';
import { changedFields } from '../store/canonical.ts';
import { desiredUser, specOf } from '../store/specs.ts';
import { effectiveUser, hashingOptions, Records, type StoredPassword } from '../store/records.ts';
import type { Store } from '../store/store.ts';
import { parsePublicKey } from './keys.ts';
import type { AuthEnv } from './login.ts';

/** A runtime user written by external auth: trusted without asking the hook until this time (ms). */
export type HookUserRecord = UserRecord & { external_auth_cached_until?: number };

/** Fields SFTPGo's user JSON carries that are bookkeeping, not definition: dropped before validation. */
const NOT_DEFINITION = [
  'id', 'created_at', 'updated_at', 'last_login', 'source', 'overrides', 'has_password', 'password_digest',
  'used_quota_size', 'used_quota_files', 'last_quota_update', 'used_upload_data_transfer', 'used_download_data_transfer',
  'first_upload', 'first_download', 'last_password_change', 'external_auth_cached_until',
];

export type HookName = 'external_auth_hook' | 'pre_login_hook';

export interface HookUserOptions {
  by: HookName;
  /** The password the hook just accepted: stored hashed (never in clear) for the cache. */
  loginPassword?: string;
  /** A public key (authorized_keys line) the hook just accepted: added to the user's keys. */
  acceptedKey?: string;
  /** Epoch ms until which external auth trusts the stored credentials; 0 or absent: no cache. */
  cachedUntil?: number;
  /** The login's client address: provider event rules see the change as made from it. */
  ip?: string;
}

export type HookUserResult = { ok: true; user: UserRecord } | { ok: false; reason: string };

export async function storeHookUser(env: AuthEnv & { store: Store }, answer: Record<string, unknown>, opts: HookUserOptions): Promise<HookUserResult> {
  const log = env.log;
  const body: Record<string, unknown> = { ...answer };
  for (const f of NOT_DEFINITION) delete body[f];
  const username = String(body.username ?? '');
  // SFTPGo's hooks answer a user without a role with an empty one.
  if (body.role === '') delete body.role;
  const errors = validateBody('User', body);
  if (typeof body.password === 'object' && body.password !== null && !('status' in body.password))
    errors.push({ path: 'password', message: 'env, file and generate references are for the config file' });
  // As SFTPGo: a user's role must exist (a dangling one would put the user beyond every role admin).
  if (typeof body.role === 'string' && body.role !== '' && !(await env.store.get('roles', body.role)))
    errors.push({ path: 'role', message: `role "${body.role}" does not exist` });
  if (errors.length > 0) {
    log('warn', 'hook_user_invalid', { hook: opts.by, username, errors: errors.slice(0, 10).map((e) => (e.path ? `${e.path}: ${e.message}` : e.message)) });
    return { ok: false, reason: `${opts.by}_invalid_user` };
  }

  const { store, config } = env;
  // The data dir holds the store; users without home_dir live under users_base_dir or <data_dir>/users.
  const dataDir = dirname(store.location);
  const usersBase = config.data_provider?.users_base_dir ?? resolve(dataDir, 'users');
  const records = new Records({ store, secrets: store.secrets, hashing: hashingOptions(config.data_provider?.password_hashing) });
  const desired = desiredUser(body as unknown as User, usersBase, { baseDir: dataDir, secrets: records.secrets });
  const spec = desired.spec as unknown as Record<string, unknown>;
  if (opts.acceptedKey) {
    const keys = (spec.public_keys as string[] | undefined) ?? [];
    const accepted = parsePublicKey(opts.acceptedKey);
    const known = accepted.ok && keys.some((k) => {
      const p = parsePublicKey(k);
      return p.ok && p.key.blob.equals(accepted.key.blob);
    });
    if (!known) spec.public_keys = [...keys, opts.acceptedKey];
  }

  const current: HookUserRecord | undefined = await store.get('users', username);
  if (current?.source === 'config') {
    const changed = changedFields(specOf(current as unknown as Record<string, unknown>), spec);
    if (changed.length === 0) return { ok: true, user: (await effectiveUser(store, username))! };
    log('warn', 'hook_user_conflict', {
      hook: opts.by, username, fields: changed,
      message: 'the user is declared in the config file; the hook may not change it (edit the YAML, or set filters.hooks to skip this hook)',
    });
    return { ok: false, reason: 'config_user_conflict' };
  }

  // Absent: the stored password stays.
  let password: StoredPassword | undefined;
  const clear = opts.loginPassword ?? (desired.password.kind === 'clear' ? desired.password.clear : undefined);
  if (clear !== undefined) password = await records.storedPassword(clear, current);
  else if (desired.password.kind === 'hash') password = { password: desired.password.hash };

  const write = () =>
    records.write(async (tx) => {
      const latest = await tx.get('user', username);
      if (latest?.source === 'config') return false;
      const definition = { ...spec, ...(opts.cachedUntil ? { external_auth_cached_until: opts.cachedUntil } : {}) };
      await tx.put('user', username, definition, { source: 'runtime', current: latest ?? null, ...(password ? { password } : {}) });
      return true;
    });
  // SFTPGo's executor for hook changes is "__system__"; the address is the login's.
  const written = env.changeOrigin ? await env.changeOrigin.run({ name: '__system__', ip: opts.ip ?? '', role: '' }, write) : await write();
  if (!written) {
    log('warn', 'hook_user_conflict', { hook: opts.by, username, message: 'the user was declared in the config file meanwhile' });
    return { ok: false, reason: 'config_user_conflict' };
  }
  log('info', 'hook_user_stored', { hook: opts.by, username, action: current ? 'update' : 'create', ...(opts.cachedUntil ? { cached_until: new Date(opts.cachedUntil).toISOString() } : {}) });
  return { ok: true, user: (await effectiveUser(store, username))! };
}
