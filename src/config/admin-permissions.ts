// Admin permission names that SFTPGo knows but this server refuses, each with the reason a config or
// request naming it is told. SFTPGo 2.7 removed three as privilege-escalation paths (an admin that
// manages admins, API keys or dumps can make itself `*`); the others belong to features not here yet.
export const REFUSED_ADMIN_PERMISSIONS: Readonly<Record<string, string>> = {
  manage_admins: 'removed in SFTPGo 2.7: only a super admin ("*") manages admins',
  manage_apikeys: 'removed in SFTPGo 2.7: only a super admin ("*") manages API keys',
  manage_system: 'removed in SFTPGo 2.7: only a super admin ("*") dumps, loads and reloads data',
  view_events: 'not supported: the events search is not implemented',
  disable_mfa: 'not supported: there is no endpoint to disable a user\'s two-factor authentication',
};

/** The message for a permission the schema refused: why, for a name SFTPGo knows. */
export function refusedAdminPermission(value: unknown): string | undefined {
  return typeof value === 'string' && Object.hasOwn(REFUSED_ADMIN_PERMISSIONS, value) ? `"${value}": ${REFUSED_ADMIN_PERMISSIONS[value]}` : undefined;
}
