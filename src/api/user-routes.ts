// The user REST API (`/api/v2/user/*`), SFTPGo's paths and shapes: a user's token, its logout,
// and (user-files.ts, user-profile.ts) the user's files, profile and password.
import type { Route } from './routes.ts';
import { logoutUser, userToken } from './user-auth.ts';

export const USER_ROUTES: Route[] = [
  { method: 'get', path: '/api/v2/user/token', summary: "Get a user's JWT access token (HTTP Basic with the user's credentials; X-SFTPGO-OTP with TOTP for HTTP)", tag: 'user APIs', auth: 'basic', returns: 'Token',
    handler: userToken },
  { method: 'get', path: '/api/v2/user/logout', summary: "Invalidate the user's token", tag: 'user APIs', auth: 'user',
    handler: logoutUser },
];
