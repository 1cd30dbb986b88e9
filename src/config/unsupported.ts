// SFTPGo configuration keys this server refuses, with the reason shown instead of a bare "unknown
// field" (or "must be false") when a config or an API body sets them. A key leaves this list when it
// is implemented and enters the schema with a test (test/unit/config/schema-keys.ts).

const TLS_CLIENT_CERTS = 'this server does not authenticate TLS client certificates';
const NO_WEB_CLIENT = 'the web client is not implemented yet; set it to false or leave it out';

/** Keys under a user's or a folder's `filesystem`, refused the same way in both places. */
const FILESYSTEM: Record<string, string> = {
  'gcsconfig.upload_part_max_time': 'there is no per-part upload deadline; only 0 is accepted',
  'sftpconfig.equality_check_mode': 'renames on an SFTP backend are plain renames; only 0 is accepted',
};

/** Event manager features past HTTP, command and filesystem actions on filesystem and on-demand rules. */
const EVENTS: Record<string, string> = {
  'event_actions[].options.email_config': 'email actions are not supported yet',
  'event_actions[].options.retention_config': 'data retention actions are not supported yet',
  'event_actions[].options.pwd_expiration_config': 'password expiration checks are not supported yet',
  'event_actions[].options.user_inactivity_config': 'user inactivity checks are not supported yet',
  'event_actions[].options.idp_config': 'Identity Provider account checks are not supported yet',
  'event_actions[].options.http_config.parts': 'multipart HTTP bodies are not supported yet',
  'event_actions[].options.fs_config.compress': 'compress actions are not supported yet',
  'event_rules[].conditions.provider_events': 'provider event rules are not supported yet',
  'event_rules[].conditions.schedules': 'scheduled rules are not supported yet',
  'event_rules[].conditions.idp_login_event': 'Identity Provider login rules are not supported yet',
  'event_rules[].conditions.options.provider_objects': 'provider event rules are not supported yet',
  'event_rules[].conditions.options.concurrent_execution': 'it applies to scheduled rules on a shared store, which are not supported yet',
};

const KEYS: Record<string, string> = {
  acme: 'no ACME client here; give certificate_file and certificate_key_file',
  mfa: "TOTP uses SFTPGo's default configuration (SHA-1, 6 digits, 30 s) and is not configurable",
  smtp: 'this server sends no email',
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
  'httpd.bindings[].enable_web_client': NO_WEB_CLIENT,
  'httpd.bindings[].oidc': 'there are no OpenID Connect logins',
  'users[].filters.tls_username': TLS_CLIENT_CERTS,
  'users[].filters.is_anonymous': 'there are no anonymous users',
  'users[].filters.web_client': 'there is no web client yet',
  'users[].filters.two_factor_protocols': 'it applies to the web client, which does not exist yet; totp_config.protocols says where a code is required',
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
