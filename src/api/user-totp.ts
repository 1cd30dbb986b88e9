// A user's own TOTP through the user API (SFTPGo's `/api/v2/user/totp/*`): the configurations
// offered (this server has SFTPGo's "Default": SHA-1, 6 digits, 30 s), a new secret, a check of a
// code against a secret, and saving `filters.totp_config`. Codes are then asked at login exactly
// as for a config-declared TOTP user (auth/totp.ts).
import { randomBytes } from 'node:crypto';
import { base32Decode, base32Encode, matchingStep } from '../auth/totp.ts';
import { AppError } from '../errors.ts';
import type { ApiContext } from './app.ts';
import { editOwnRecord, ownRecord } from './user-profile.ts';
import { recoveryCodesAfterSave, userAccount } from './two-factor.ts';

export const CONFIG_NAME = 'Default';
const ISSUER = 'SFTPGo';
/** 160 bits, RFC 4226's recommended secret length for SHA-1. */
const SECRET_BYTES = 20;

export function configName(body: unknown): string {
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
  return ctx.c.json(generateFor(ctx.body, `User "${ctx.user!.username}"`));
}

/** A new secret for `account` (`User "name"` or `Admin "name"`, as SFTPGo labels them) and its otpauth:// URL. */
export function newTotpSecret(account: string): { issuer: string; secret: string; url: string } {
  const secret = base32Encode(randomBytes(SECRET_BYTES));
  const url = `otpauth://totp/${encodeURIComponent(`${ISSUER}:${account}`)}?${new URLSearchParams({ algorithm: 'SHA1', digits: '6', issuer: ISSUER, period: '30', secret })}`;
  return { issuer: ISSUER, secret, url };
}

/** The generate endpoints' answer, for a body naming the configuration. */
export function generateFor(body: unknown, account: string): Record<string, unknown> {
  const name = configName(body);
  return { config_name: name, ...newTotpSecret(account) };
}

/** Whether `passcode` is the current code of the base32 `secret`. */
export function passcodeFits(secret: unknown, passcode: unknown): boolean {
  const key = typeof secret === 'string' ? base32Decode(secret) : undefined;
  return key !== undefined && typeof passcode === 'string' && matchingStep(key, passcode.trim(), Date.now() / 1000) !== undefined;
}

/** POST /user/totp/validate `{config_name, passcode, secret}`: whether the code fits the secret now. */
export function totpValidate(ctx: ApiContext): Response {
  const body = ctx.body as { passcode?: unknown; secret?: unknown };
  configName(body);
  if (!passcodeFits(body.secret, body.passcode)) return ctx.c.json({ message: 'Invalid passcode', error: '' }, 400);
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
  // SFTPGo's rule: enabling with fewer than five unused recovery codes makes a new set, answered
  // here this once (they are kept hashed, so a later GET shows only their hints); disabling drops them.
  const codes = await recoveryCodesAfterSave(ctx.runtime, userAccount(ctx.user!), config.enabled === true);
  return ctx.c.json({ message: 'TOTP configuration saved', error: '', ...(codes ? { recovery_codes: codes } : {}) });
}

async function ownFilters(ctx: ApiContext): Promise<Record<string, unknown>> {
  return (await ownRecord(ctx))?.filters ?? {};
}
