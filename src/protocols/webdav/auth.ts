// HTTP Basic authentication for WebDAV against the same users as every protocol. WebDAV clients
// send the password with every request, so the server keeps recent logins in a CredentialsCache
// (src/auth/credentials-cache.ts): entries expire `webdavd.cache.users.expiration_time` minutes
// after the login and the cache holds at most `max_size` users.

export interface BasicCredentials {
  username: string;
  password: string;
}

/** undefined when there is no usable Basic Authorization header. */
export function parseBasic(header: string | undefined): BasicCredentials | undefined {
  if (!header) return undefined;
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

export const DEFAULT_CACHE_MINUTES = 5;
export const DEFAULT_CACHE_SIZE = 50;
