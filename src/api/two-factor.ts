// The second factor at an HTTP login, for admins and users alike: the TOTP code, or one of the
// account's recovery codes in its place (used up by the login). And SFTPGo's recovery code
// endpoints, `/api/v2/admin/2fa/recoverycodes` and `/api/v2/user/2fa/recoverycodes`: GET lists
// them (only their hints: they are kept hashed), POST replaces them and answers the new ones once.
import {
  listRecoveryCodes, looksLikeRecoveryCode, newRecoveryCodes, RECOVERY_CODES_LOW, unusedRecoveryCodes, useRecoveryCode, dropRecoveryCodes,
  type RecoveryAccount,
} from '../auth/recovery-codes.ts';
import type { ServerContext } from '../core/context.ts';
import type { AdminRecord, UserRecord } from '../model.ts';
import type { ApiContext } from './app.ts';
import { errorResponse } from './respond.ts';
import type { Route } from './routes.ts';

export function adminAccount(admin: AdminRecord): RecoveryAccount {
  return { kind: 'admin', name: admin.username, id: admin.id };
}

export function userAccount(user: UserRecord): RecoveryAccount {
  return { kind: 'user', name: user.username, id: user.id };
}

/** Whether the admin must give a second factor (its TOTP configuration is enabled). */
export function adminTotpRequired(admin: AdminRecord): boolean {
  return admin.filters?.totp_config?.enabled === true;
}

/** Why an admin's second factor `code` is refused, or undefined when accepted (a recovery code is then used up). */
export async function adminSecondFactor(runtime: ServerContext, admin: AdminRecord, code: string): Promise<string | undefined> {
  if (looksLikeRecoveryCode(code)) return (await useRecoveryCode(runtime.store, adminAccount(admin), code)) ? undefined : 'recovery_code_invalid';
  return runtime.totp.useSecret({ kind: 'admin', account: admin.username, secret: admin.filters?.totp_config?.secret, code, secrets: runtime.store.secrets });
}

/** Why a user's second factor `code` is refused at an HTTP login, or undefined when accepted. */
export async function userSecondFactor(runtime: ServerContext, user: UserRecord, code: string): Promise<string | undefined> {
  if (looksLikeRecoveryCode(code)) return (await useRecoveryCode(runtime.store, userAccount(user), code)) ? undefined : 'recovery_code_invalid';
  return runtime.gate.steps.totp(user, code);
}

/**
 * After a TOTP configuration was saved, SFTPGo's rule for the codes: enabled with fewer than five
 * unused, a new set (returned, to be shown once); disabled, none at all.
 */
export async function recoveryCodesAfterSave(runtime: ServerContext, account: RecoveryAccount, enabled: boolean): Promise<string[] | undefined> {
  if (!enabled) {
    await dropRecoveryCodes(runtime.store, account);
    return undefined;
  }
  if ((await unusedRecoveryCodes(runtime.store, account)) >= RECOVERY_CODES_LOW) return undefined;
  return newRecoveryCodes(runtime.store, account);
}

export function countUnusedCodes(runtime: ServerContext, account: RecoveryAccount): Promise<number> {
  return unusedRecoveryCodes(runtime.store, account);
}

/** A new set of the account's recovery codes, replacing the old one; the codes, to show once. */
export async function renewRecoveryCodes(runtime: ServerContext, account: RecoveryAccount): Promise<string[]> {
  const codes = await newRecoveryCodes(runtime.store, account);
  runtime.log('info', 'recovery_codes_renewed', { kind: account.kind, username: account.name });
  return codes;
}

const DISABLED = 'recovery codes are not available with two-factor authentication disabled';

async function listCodes(ctx: ApiContext, account: RecoveryAccount, enabled: boolean): Promise<Response> {
  if (!enabled) return errorResponse(ctx.c, 403, DISABLED);
  return ctx.c.json(await listRecoveryCodes(ctx.runtime.store, account));
}

async function renewCodes(ctx: ApiContext, account: RecoveryAccount, enabled: boolean): Promise<Response> {
  if (!enabled) return errorResponse(ctx.c, 403, DISABLED);
  return ctx.c.json(await renewRecoveryCodes(ctx.runtime, account));
}

const userTotpOn = (user: UserRecord) => user.filters?.totp_config?.enabled === true;

export const TWO_FACTOR_ROUTES: Route[] = [
  { method: 'get', path: '/api/v2/admin/2fa/recoverycodes', noApiKey: true, roleAdmins: 'open', tag: 'admin 2FA', auth: 'admin',
    summary: "The admin's recovery codes: each one's hint (the codes are kept hashed) and whether it was used", returns: 'RecoveryCode[]',
    handler: (ctx) => listCodes(ctx, adminAccount(ctx.admin!), adminTotpRequired(ctx.admin!)) },
  { method: 'post', path: '/api/v2/admin/2fa/recoverycodes', noApiKey: true, roleAdmins: 'open', tag: 'admin 2FA', auth: 'admin',
    summary: 'Replace the admin\'s recovery codes: the twelve new ones, shown this once',
    handler: (ctx) => renewCodes(ctx, adminAccount(ctx.admin!), adminTotpRequired(ctx.admin!)) },
  { method: 'get', path: '/api/v2/user/2fa/recoverycodes', noApiKey: true, tag: 'user APIs', auth: 'user',
    summary: "The user's recovery codes: each one's hint (the codes are kept hashed) and whether it was used", returns: 'RecoveryCode[]',
    handler: (ctx) => listCodes(ctx, userAccount(ctx.user!), userTotpOn(ctx.user!)) },
  { method: 'post', path: '/api/v2/user/2fa/recoverycodes', noApiKey: true, tag: 'user APIs', auth: 'user',
    summary: "Replace the user's recovery codes: the twelve new ones, shown this once",
    handler: (ctx) => renewCodes(ctx, userAccount(ctx.user!), userTotpOn(ctx.user!)) },
];
