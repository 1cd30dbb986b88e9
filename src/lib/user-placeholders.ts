// The placeholders SFTPGo replaces with a user's own values where settings are shared between users
// (group settings, folder paths and key prefixes): %username% and %role%. Whatever makes shared
// settings a user's own calls this; a user without a role gets "" for %role%, as in SFTPGo.

const PLACEHOLDER = /%username%|%role%/g;

export interface PlaceholderUser {
  username: string;
  role?: string | undefined;
}

/** `value` with each placeholder replaced in one pass (a replaced value is never scanned again). */
export function replaceUserPlaceholders(value: string, user: PlaceholderUser): string {
  if (!value.includes('%')) return value;
  return value.replace(PLACEHOLDER, (p) => (p === '%username%' ? user.username : (user.role ?? '')));
}
