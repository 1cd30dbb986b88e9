// The user REST API (`/api/v2/user/*`), SFTPGo's paths and shapes: a user's token and its logout
// (user-auth.ts), the user's files (user-files.ts), profile and password (user-profile.ts).
import type { Route } from './routes.ts';
import { logoutUser, userToken } from './user-auth.ts';
import { copyEntry, createDir, deleteDir, deleteFile, getFile, listDir, renameEntry, setMetadata, streamZip, uploadFiles, uploadRaw } from './user-files.ts';
import { changePassword, getProfile, updateProfile } from './user-profile.ts';
import { totpConfigs, totpGenerate, totpSave, totpValidate } from './user-totp.ts';
import type { QueryParam } from './routes.ts';

const TAG = 'user APIs';

const PATH: QueryParam = { name: 'path', description: 'A path in the user\'s tree, from its root (URL encoded)', schema: { type: 'string' } };
const TARGET: QueryParam = { name: 'target', description: 'The new path, from the root (URL encoded)', schema: { type: 'string' } };
const MKDIR_PARENTS: QueryParam = { name: 'mkdir_parents', description: 'Create the missing parent directories first', schema: { type: 'boolean' } };

export const USER_ROUTES: Route[] = [
  { method: 'get', path: '/api/v2/user/token', summary: "Get a user's JWT access token (HTTP Basic with the user's credentials; X-SFTPGO-OTP with TOTP for HTTP)", tag: TAG, auth: 'basic', returns: 'Token',
    handler: userToken },
  { method: 'get', path: '/api/v2/user/logout', summary: "Invalidate the user's token", tag: TAG, auth: 'user', passwordChange: true, handler: logoutUser },
  { method: 'put', path: '/api/v2/user/changepwd', summary: "Change the user's password (the token used is then invalidated)", tag: TAG, auth: 'user', passwordChange: true, body: 'any', bodySchema: 'PwdChange',
    handler: changePassword },
  { method: 'get', path: '/api/v2/user/profile', summary: "The user's profile", tag: TAG, auth: 'user', passwordChange: true, returns: 'UserProfile', handler: getProfile },
  { method: 'put', path: '/api/v2/user/profile', summary: "Update the user's profile (the fields sent)", tag: TAG, auth: 'user', body: 'any', bodySchema: 'UserProfile', handler: updateProfile },
  { method: 'get', path: '/api/v2/user/totp/configs', summary: 'The TOTP configurations offered (SFTPGo\'s "Default")', tag: TAG, auth: 'user', returns: 'TOTPConfig[]', handler: totpConfigs },
  { method: 'post', path: '/api/v2/user/totp/generate', summary: 'A new TOTP secret and its otpauth:// URL (no QR code image)', tag: TAG, auth: 'user', body: 'any', bodySchema: 'TOTPGenerate',
    handler: totpGenerate },
  { method: 'post', path: '/api/v2/user/totp/validate', summary: 'Check a passcode against a secret', tag: TAG, auth: 'user', body: 'any', bodySchema: 'TOTPValidate', handler: totpValidate },
  { method: 'post', path: '/api/v2/user/totp/save', summary: "Save the user's TOTP configuration (a secret that is not Plain keeps the stored one)", tag: TAG, auth: 'user', body: 'any', bodySchema: 'TOTPSave',
    handler: totpSave },
  { method: 'get', path: '/api/v2/user/dirs', summary: 'List a directory', tag: TAG, auth: 'user', session: true, query: [PATH], returns: 'DirEntry[]', handler: listDir },
  { method: 'post', path: '/api/v2/user/dirs', summary: 'Create a directory', tag: TAG, auth: 'user', session: true, query: [PATH, MKDIR_PARENTS], handler: createDir },
  { method: 'patch', path: '/api/v2/user/dirs', summary: 'Rename a directory', tag: TAG, auth: 'user', session: true, query: [PATH, TARGET], handler: renameEntry },
  { method: 'delete', path: '/api/v2/user/dirs', summary: 'Delete a directory and everything below it', tag: TAG, auth: 'user', session: true, query: [PATH], handler: deleteDir },
  { method: 'get', path: '/api/v2/user/files', summary: 'Download a file (one byte range with Range: 206)', tag: TAG, auth: 'user', session: true,
    query: [PATH, { name: 'inline', description: 'Content-Disposition inline rather than attachment', schema: { type: 'boolean' } }], handler: getFile },
  { method: 'post', path: '/api/v2/user/files', summary: 'Upload files: multipart/form-data, each `filenames` part a file written into `path`', tag: TAG, auth: 'user', session: true,
    query: [{ ...PATH, description: 'The directory the files go to (default: the root)' }, MKDIR_PARENTS], handler: uploadFiles },
  { method: 'patch', path: '/api/v2/user/files', summary: 'Rename a file', tag: TAG, auth: 'user', session: true, query: [PATH, TARGET], handler: renameEntry },
  { method: 'delete', path: '/api/v2/user/files', summary: 'Delete a file', tag: TAG, auth: 'user', session: true, query: [PATH], handler: deleteFile },
  { method: 'post', path: '/api/v2/user/files/upload', summary: 'Upload one file: the raw body (X-SFTPGO-MTIME: its modification time in ms)', tag: TAG, auth: 'user', session: true,
    query: [PATH, MKDIR_PARENTS], handler: uploadRaw },
  { method: 'patch', path: '/api/v2/user/files/metadata', summary: 'Set a file or directory modification time (`{modification_time}` in ms)', tag: TAG, auth: 'user', session: true,
    query: [PATH], body: 'any', bodySchema: 'FileMetadata', handler: setMetadata },
  { method: 'post', path: '/api/v2/user/file-actions/copy', summary: 'Copy a file or directory (a trailing "/" on target copies into it)', tag: TAG, auth: 'user', session: true, query: [PATH, TARGET], handler: copyEntry },
  { method: 'post', path: '/api/v2/user/file-actions/move', summary: 'Move a file or directory', tag: TAG, auth: 'user', session: true, query: [PATH, TARGET], handler: renameEntry },
  { method: 'post', path: '/api/v2/user/streamzip', summary: 'Download files and directories as one zip, streamed (body: a JSON list of paths)', tag: TAG, auth: 'user', session: true,
    body: 'any', bodySchema: 'PathList', handler: streamZip },
];
