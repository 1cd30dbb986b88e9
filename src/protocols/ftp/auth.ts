// FTP's side of the login pipeline (auth/login.ts): the `login_failed` event with protocol "FTP",
// which fail2ban reads the same way as SFTP's.
import { loginRejected, type AuthEnv } from '../../auth/login.ts';

/** With `env`, the post-login hook hears of the failure too. */
export function logLoginFailed(ip: string, username: string, reason: string, env?: AuthEnv): void {
  loginRejected(env, { ip, protocol: 'FTP', username, method: 'password' }, reason);
}
