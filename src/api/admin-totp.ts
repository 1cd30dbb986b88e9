// An admin's own two-factor authentication and password, as SFTPGo's `/api/v2/admin/totp/*`,
// `/api/v2/admin/changepwd` and `/api/v2/admins/{username}/2fa/disable`: the configurations
// offered, a new secret, a check of a code, saving `filters.totp_config` (the web admin's profile
// page uses the same functions). An admin with TOTP then gives the code (or a recovery code) in
// X-SFTPGO-OTP to GET /api/v2/token, and after its password in the web admin.
import { verifyPassword } from '../auth/passwords.ts';
import type { ServerContext } from '../core/context.ts';
import { AppError } from '../errors.ts';
import type { AdminRecord } from '../model.ts';
import { effectiveAdmin } from '../store/records.ts';
import type { ApiContext } from './app.ts';
import type { AuthResult } from './auth.ts';
import { KINDS, update } from './resources.ts';
import { errorResponse } from './respond.ts';
import type { Route } from './routes.ts';
import { adminAccount, adminSecondFactor, adminTotpRequired, recoveryCodesAfterSave } from './two-factor.ts';
import { CONFIG_NAME, configName, generateFor, totpConfigs, totpValidate } from './user-totp.ts';

export const OTP_HEADER = 'x-sftpgo-otp';

/** How SFTPGo's apps label an admin's secret. */
export function adminTotpAccount(username: string): string {
  return `Admin "${username}"`;
}

/**
 * The second step of an admin's login (API token, web admin) when its TOTP is enabled: undefined
 * when the code (or a recovery code) is right, else the refusal to report (scored by the defender).
 */
export async function adminOtpRefusal(runtime: ServerContext, admin: AdminRecord, code: string | undefined): Promise<AuthResult | undefined> {
  if (!adminTotpRequired(admin)) return undefined;
  const reason = code ? await adminSecondFactor(runtime, admin, code) : 'totp_missing';
  if (!reason) return undefined;
  return { ok: false, status: 401, error: code ? 'invalid passcode' : 'two-factor authentication required: send the passcode in X-SFTPGO-OTP', refused: { username: admin.username, method: 'password', reason } };
}

export interface TotpChange {
  enabled: boolean;
  /** A new base32 secret; absent keeps the stored one (SFTPGo's "a secret that is not Plain"). */
  secret?: string;
}

/**
 * Saves an admin's own TOTP configuration through the records layer (a YAML admin gets an
 * override). Enabling hands out new recovery codes when fewer than five are unused (returned, to
 * be shown once); disabling drops the secret and the codes.
 */
export async function saveAdminTotp(runtime: ServerContext, admin: AdminRecord, change: TotpChange, by: string): Promise<string[] | undefined> {
  const current = admin.filters?.totp_config;
  const secret = change.secret ?? (change.enabled ? current?.secret : undefined);
  if (change.enabled && secret === undefined) throw new AppError('invalid', 'secret: a TOTP secret is required to enable two-factor authentication');
  const totp = change.enabled ? { enabled: true, config_name: CONFIG_NAME, secret: secret! } : { enabled: false };
  await update(runtime, KINDS.admins, admin.username, { filters: { ...admin.filters, totp_config: totp } }, { by });
  runtime.log('info', 'admin_totp_saved', { username: admin.username, enabled: change.enabled, by });
  const saved = await effectiveAdmin(runtime.store, admin.username);
  return recoveryCodesAfterSave(runtime, adminAccount(saved ?? admin), change.enabled);
}

/**
 * Turns another admin's TOTP off (PUT /api/v2/admins/{username}/2fa/disable, the web admin's admins
 * list): `not_found`, or `not_enabled` when it had none.
 */
export async function disableAdminTotp(runtime: ServerContext, name: string, by: string): Promise<'disabled' | 'not_found' | 'not_enabled'> {
  const admin = await effectiveAdmin(runtime.store, name);
  if (!admin) return 'not_found';
  if (!adminTotpRequired(admin)) return 'not_enabled';
  await saveAdminTotp(runtime, admin, { enabled: false }, by);
  return 'disabled';
}

/** POST /admin/totp/save `{enabled, config_name, secret: {status: "Plain", payload}}`. */
async function totpSave(ctx: ApiContext): Promise<Response> {
  const body = (ctx.body ?? {}) as { enabled?: unknown; secret?: unknown };
  configName(body);
  if (body.enabled !== undefined && typeof body.enabled !== 'boolean') throw new AppError('invalid', 'enabled: must be a boolean');
  const s = body.secret as { status?: unknown; payload?: unknown } | undefined;
  const plain = s?.status === 'Plain' && typeof s.payload === 'string' && s.payload !== '' ? s.payload : undefined;
  if (plain !== undefined && !/^[A-Z2-7]{16,}=*$/i.test(plain.replace(/\s/g, ''))) throw new AppError('invalid', 'secret: not a base32 TOTP secret');
  const codes = await saveAdminTotp(ctx.runtime, ctx.admin!, { enabled: body.enabled === true, ...(plain !== undefined ? { secret: plain.replace(/\s/g, '').toUpperCase() } : {}) }, ctx.admin!.username);
  // New recovery codes are answered this once: they are kept hashed.
  return ctx.c.json({ message: 'TOTP configuration saved', error: '', ...(codes ? { recovery_codes: codes } : {}) });
}

/** Changes an admin's own password, the current one checked first. */
export async function changeAdminPassword(runtime: ServerContext, admin: AdminRecord, o: { current: string; next: string }): Promise<void> {
  if (!o.current || !o.next) throw new AppError('invalid', 'please provide the current password and the new one');
  if (o.current === o.next) throw new AppError('invalid', 'the new password must be different from the current one');
  if (!admin.password || !(await verifyPassword(o.current, admin.password))) throw new AppError('invalid', 'current password does not match');
  await update(runtime, KINDS.admins, admin.username, { password: o.next }, { by: admin.username });
  runtime.log('info', 'admin_password_changed', { username: admin.username });
}

const TAG = 'admin 2FA';

export const ADMIN_TOTP_ROUTES: Route[] = [
  { method: 'get', path: '/api/v2/admin/totp/configs', noApiKey: true, roleAdmins: 'open', summary: 'The TOTP configurations offered (SFTPGo\'s "Default")', tag: TAG, auth: 'admin', returns: 'TOTPConfig[]',
    handler: totpConfigs },
  { method: 'post', path: '/api/v2/admin/totp/generate', noApiKey: true, roleAdmins: 'open', summary: 'A new TOTP secret and its otpauth:// URL (no QR code image)', tag: TAG, auth: 'admin', body: 'any', bodySchema: 'TOTPGenerate',
    handler: (ctx) => ctx.c.json(generateFor(ctx.body, adminTotpAccount(ctx.admin!.username))) },
  { method: 'post', path: '/api/v2/admin/totp/validate', noApiKey: true, roleAdmins: 'open', summary: 'Check a passcode against a secret', tag: TAG, auth: 'admin', body: 'any', bodySchema: 'TOTPValidate',
    handler: totpValidate },
  { method: 'post', path: '/api/v2/admin/totp/save', noApiKey: true, roleAdmins: 'open', summary: "Save the admin's own TOTP configuration (a secret that is not Plain keeps the stored one; enabled false turns it off)", tag: TAG, auth: 'admin', body: 'any', bodySchema: 'TOTPSave',
    handler: totpSave },
  { method: 'put', path: '/api/v2/admin/changepwd', noApiKey: true, roleAdmins: 'open', summary: "Change the admin's own password", tag: 'admins', auth: 'admin', body: 'any', bodySchema: 'PwdChange',
    handler: async (ctx) => {
      const body = (ctx.body ?? {}) as { current_password?: unknown; new_password?: unknown };
      const str = (v: unknown) => (typeof v === 'string' ? v : '');
      await changeAdminPassword(ctx.runtime, ctx.admin!, { current: str(body.current_password), next: str(body.new_password) });
      return ctx.c.json({ message: 'Password updated', error: '' });
    } },
  { method: 'put', path: '/api/v2/admins/{username}/2fa/disable', summary: "Turn an admin's two-factor authentication off (its secret and recovery codes go)", tag: TAG, auth: 'admin', permission: '*',
    handler: async (ctx) => {
      const name = ctx.c.req.param('username')!;
      const outcome = await disableAdminTotp(ctx.runtime, name, ctx.admin!.username);
      if (outcome === 'not_found') return errorResponse(ctx.c, 404, `admin "${name}" not found`);
      if (outcome === 'not_enabled') return errorResponse(ctx.c, 400, 'two-factor authentication is not enabled');
      return ctx.c.json({ message: '2FA disabled', error: '' });
    } },
];
