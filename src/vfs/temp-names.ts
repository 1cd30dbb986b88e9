// The names temporary uploads are written under before they are renamed into place: the session
// core's atomic upload modes (`.sftpgo-upload.<12 hex>.<name>`, as SFTPGo names them) and the SFTP
// backend's own whole-file writes (`.sftpgo-upload-<16 hex>`). Listings hide both. The core's
// names are also reserved: no client request may name one (the local backend journals them and
// may keep them in common.temp_path, shared by every user). The backend's names are not: they are
// what an SFTP client staging its own uploads uses, and that client may be this project's SFTP
// backend talking to another of its servers. So over SFTP the core's names travel as backend
// names (remoteTempPath). The patterns are exact: a user's `.sftpgo-upload.txt` matches neither.
import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';

const UPLOAD_NAME = /^\.sftpgo-upload\.([0-9a-f]{12})\./;
const BACKEND_NAME = /^\.sftpgo-upload-[0-9a-f]{16}$/;

/** A fresh temporary name beside `target` (a backend path) for an atomic upload of it. */
export function tempUploadPath(target: string): string {
  return posix.join(posix.dirname(target), `.sftpgo-upload.${randomBytes(6).toString('hex')}.${posix.basename(target)}`);
}

/** True for a base name tempUploadPath() gives. */
export function isTempUploadName(name: string): boolean {
  return UPLOAD_NAME.test(name);
}

/** A fresh base name for a backend's own staging file (the SFTP backend writes whole files under it). */
export function backendTempName(): string {
  return `.sftpgo-upload-${randomBytes(8).toString('hex')}`;
}

/** True for any temporary upload name, the core's or a backend's: never a user's file. */
export function isTempName(name: string): boolean {
  return UPLOAD_NAME.test(name) || BACKEND_NAME.test(name);
}

/** True when any component of a slash-separated path is a core temporary upload name (reserved). */
export function hasTempComponent(path: string): boolean {
  if (!path.includes('.sftpgo-upload.')) return false;
  return path.split('/').some(isTempUploadName);
}

/** `path` as a remote SFTP server sees it: a core temporary upload name becomes a backend one, the same each time. */
export function remoteTempPath(path: string): string {
  const m = UPLOAD_NAME.exec(posix.basename(path));
  return m ? posix.join(posix.dirname(path), `.sftpgo-upload-${m[1]}0000`) : path;
}
