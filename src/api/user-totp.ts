// A user's own TOTP through the user API (SFTPGo's `/api/v2/user/totp/*`): the configurations
// offered (this server has SFTPGo's "Default": SHA-1, 6 digits, 30 s), a new secret, a check of a
// code against a secret, and saving `filters.totp_config`. Codes are then asked at login exactly
// as for a config-declared TOTP user (auth/totp.ts).
import { randomBytes } from 'node:crypto';
import { base32Decode, base32Encode, matchingStep } from '../auth/totp.ts';
import { AppError } from '../errors.ts';
import type { ApiContext } from './app.ts';
import { KINDS, render } from './resources.ts';
import { editOwnRecord } from './user-profile.ts';

const CONFIG_NAME = 'Default';
const ISSUER = 'SFTPGo';
/** 160 bits, RFC 4226's recommended secret length for SHA-1. */
const SECRET_BYTES = 20;

function configName(body: unknown): string {
  const name = (body as { config_name?: unknown } | undefined)?.config_name;
  if (name !== undefined && name !== CONFIG_NAME) throw new AppError('invalid', `config_name: the only TOTP configuration is "${CONFIG_NAME}"`);
  return CONFIG_NAME;
}

/** GET /user/totp/configs. */
export function totpConfigs(ctx: ApiContext): Response {
  return ctx.c.json([{ name: CONFIG_NAME, issuer: ISSUER, algo: 'sha1' }]);
}

/**
 * POST /user/totp/generate `{config_name}` → `{config_name, issuer, secret, url}`: the secret and
 * its `otpauth://` URL, which authenticator apps read (SFTPGo's `qr_code`, a PNG of that URL, is
 * not generated here).
 */
export function totpGenerate(ctx: ApiContext): Response {
  const name = configName(ctx.body);
  const secret = base32Encode(randomBytes(SECRET_BYTES));
  const account = `User "${ctx.user!.username}"`;
  const url = `otpauth://totp/${encodeURIComponent(`${ISSUER}:${account}`)}?${new URLSearchParams({ algorithm: 'SHA1', digits: '6', issuer: ISSUER, period: '30', secret })}`;
  return ctx.c.json({ config_name: name, issuer: ISSUER, secret, url });
}

/** POST /user/totp/validate `{config_name, passcode, secret}`: whether the code fits the secret now. */
export function totpValidate(ctx: ApiContext): Response {
  const body = ctx.body as { passcode?: unknown; secret?: unknown };
  configName(body);
  const key = typeof body.secret === 'string' ? base32Decode(body.secret) : undefined;
  const ok = key !== undefined && typeof body.passcode === 'string' && matchingStep(key, body.passcode.trim(), Date.now() / 1000) !== undefined;
  if (!ok) return ctx.c.json({ message: 'Invalid passcode', error: '' }, 400);
  return ctx.c.json({ message: 'Passcode successfully validated', error: '' });
}

/**
 * POST /user/totp/save `{enabled, config_name, secret: {status: "Plain", payload}, protocols}`: as
 * SFTPGo, a secret that is not plain keeps the stored one (so disabling needs no secret).
 */
export async function totpSave(ctx: ApiContext): Promise<Response> {
  const body = ctx.body as { enabled?: unknown; secret?: unknown; protocols?: unknown };
  const name = configName(body);
  if (body.enabled !== undefined && typeof body.enabled !== 'boolean') throw new AppError('invalid', 'enabled: must be a boolean');
  const secret = body.secret as { status?: unknown; payload?: unknown } | undefined;
  const plain = secret?.status === 'Plain' && typeof secret.payload === 'string' && secret.payload !== '' ? secret.payload : undefined;
  if (plain !== undefined && !base32Decode(plain)) throw new AppError('invalid', 'secret: not a base32 TOTP secret');
  const config: Record<string, unknown> = {
    enabled: body.enabled === true,
    config_name: name,
    protocols: body.protocols ?? [],
    // Redacted: the record layer keeps what is stored.
    secret: plain !== undefined ? { status: 'Plain', payload: plain } : { status: 'Redacted' },
  };
  await editOwnRecord(ctx, { filters: { ...(await ownFilters(ctx)), totp_config: config } });
  ctx.runtime.log('info', 'user_totp_saved', { username: ctx.user!.username, ip: ctx.ip, enabled: config.enabled });
  return ctx.c.json({ message: 'TOTP configuration saved', error: '' });
}

async function ownFilters(ctx: ApiContext): Promise<Record<string, unknown>> {
  const current = await render(ctx.runtime, KINDS.users, ctx.user!.username);
  const filters = current?.filters;
  return filters && typeof filters === 'object' ? (filters as Record<string, unknown>) : {};
}
