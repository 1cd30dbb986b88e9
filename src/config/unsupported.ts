// SFTPGo configuration keys this server refuses, with the reason shown instead of a bare "unknown
// field" (or "must be false") when a config or an API body sets them. A key leaves this list when it
// is implemented and enters the schema with a test (test/unit/config/schema-keys.ts).

const TLS_CLIENT_CERTS = 'this server does not authenticate TLS client certificates';

/** Keys under a user's or a folder's `filesystem`, refused the same way in both places. */
const FILESYSTEM: Record<string, string> = {
  'sftpconfig.equality_check_mode': 'renames on an SFTP backend are plain renames; only 0 is accepted',
};

/** Event manager features not implemented yet. */
const EVENTS: Record<string, string> = {
  'event_actions[].options.idp_config': 'Identity Provider account checks are not supported yet',
  'event_rules[].conditions.idp_login_event': 'Identity Provider login rules are not supported yet',
  'event_rules[].conditions.options.concurrent_execution': 'it lets every replica of a shared store run a scheduled rule, and this store is never shared: each schedule runs once',
};

const KEYS: Record<string, string> = {
  acme: 'no ACME client here; give certificate_file and certificate_key_file',
  mfa: "TOTP uses SFTPGo's default configuration (SHA-1, 6 digits, 30 s) and is not configurable",
  'smtp.oauth2': 'OAuth2 SMTP authentication (auth_type 3) is not supported; use auth_type 0 (PLAIN), 1 (LOGIN) or 2 (CRAM-MD5)',
  kms: "secrets are sealed with the data directory's key; there are no KMS providers",
  plugins: 'SFTPGo plugins cannot run here',
  'sftpd.host_certificates': 'the SSH server presents plain host keys, not OpenSSH host certificates',
  'sftpd.folder_prefix': 'SFTPGo dropped it too: SFTP paths start at the user\'s root',
  'ftpd.enable_site': 'the SITE command is not implemented',
  'ftpd.bindings[].tls_session_reuse': 'SFTPGo dropped it too: data connections are not required to resume the control TLS session',
  'ftpd.bindings[].ignore_ascii_transfer_type': 'SFTPGo dropped it too: transfers are always binary, TYPE A included',
  'ftpd.bindings[].client_auth_type': TLS_CLIENT_CERTS,
  'ftpd.bindings[].proxy_mode': 'FTP bindings take apply_proxy_config, as in SFTPGo',
  'webdavd.bindings[].apply_proxy_config': 'WebDAV bindings take proxy_mode (1 applies common.proxy_protocol), as in SFTPGo',
  'httpd.bindings[].apply_proxy_config': 'HTTP bindings take proxy_mode (1 applies common.proxy_protocol), as in SFTPGo',
  'webdavd.bindings[].client_auth_type': TLS_CLIENT_CERTS,
  'httpd.bindings[].client_auth_type': TLS_CLIENT_CERTS,
  'httpd.bindings[].oidc': 'there are no OpenID Connect logins',
  'users[].filters.tls_username': TLS_CLIENT_CERTS,
  'users[].filters.is_anonymous': 'there are no anonymous users',
  'users[].filters.web_client': "the web client's per-user restrictions are not supported: every user gets the whole web client",
  'users[].filters.two_factor_protocols': 'requiring users to set up TOTP is not supported; totp_config.protocols says where a code is asked (HTTP covers the user API and the web client)',
  'users[].filters.user_type': 'LDAP and OS users come from SFTPGo plugins, which cannot run here',
  'users[].filters.totp_config.config_name': "only SFTPGo's Default TOTP configuration (SHA-1, 6 digits, 30 s) exists here",
  ...EVENTS,
  ...Object.fromEntries(Object.entries(FILESYSTEM).flatMap(([k, why]) => [[`users[].filesystem.${k}`, why], [`folders[].filesystem.${k}`, why]])),
};

/** Every refused key with its reason, in config notation (`httpd.bindings[].enable_web_client`). */
export const NOT_SUPPORTED: ReadonlyMap<string, string> = new Map(Object.entries(KEYS));

/**
 * The reason a key is refused, or undefined. `path` is in config notation with array indexes
 * written `[]`; `within` is the config path of the record an API body stands for (`users[]`).
 */
export function notSupportedReason(path: string, within?: string): string | undefined {
  return NOT_SUPPORTED.get(within ? `${within}.${path}` : path);
}
