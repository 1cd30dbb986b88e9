// FTP's side of the login pipeline (auth/login.ts): the `login_failed` event with protocol "FTP",
// which fail2ban reads the same way as SFTP's.
import { loginRejected } from '../../auth/login.ts';

export function logLoginFailed(ip: string, username: string, reason: string): void {
  loginRejected(undefined, { ip, protocol: 'FTP', username, method: 'password' }, reason);
}
