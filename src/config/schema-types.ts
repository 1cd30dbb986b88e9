// Generated from sftpgo.schema.json by `npm run gen:types`; do not edit by hand.
/* eslint-disable */

/**
 * An absolute path of a program (run without a shell), or an http(s) URL; empty means none.
 *
 * This interface was referenced by `SFTPGoTSConfiguration`'s JSON-Schema
 * via the `definition` "HookCommand".
 */
export type HookCommand = string;
/**
 * This interface was referenced by `SFTPGoTSConfiguration`'s JSON-Schema
 * via the `definition` "DataProvider".
 */
export type DataProvider = {
  /**
   * The store: lmdb (embedded, one server's, the default) or postgresql (shared by every server that names the same database: replicas behind a load balancer). Other SFTPGo drivers are not supported.
   */
  driver?: 'lmdb' | 'postgresql';
  /**
   * postgresql: the server's host name or address.
   */
  host?: string;
  /**
   * postgresql: the server's port; 0 means 5432.
   */
  port?: number;
  /**
   * postgresql: the database. Its tables are created on first use.
   */
  name?: string;
  /**
   * postgresql: the role to log in as.
   */
  username?: string;
  /**
   * postgresql: the role's password; a reference ({env} or {file}) keeps it out of Git.
   */
  password?:
    | string
    | {
        /**
         * Name of the environment variable holding the value.
         */
        env: string;
      }
    | {
        /**
         * Path of a file holding the value (one trailing newline is removed).
         */
        file: string;
      }
    | {
        /**
         * Generate a random value when the resource is created and print it once; keep it afterwards.
         */
        generate: true;
      }
    | {
        status: 'Plain';
        payload: string;
        key?: string;
        additional_data?: string;
        mode?: number;
      }
    | {
        /**
         * A literal secret as the store keeps it: sealed (AES-256-GCM) with the data directory's secrets.key. The API and dumps show this form; it opens only with the same secrets.key.
         */
        sealed: string;
      };
  /**
   * postgresql, as in SFTPGo: 0 no TLS, 1 TLS without checking the server, 2 TLS checking the server's certificate chain (root_cert), 3 also its host name.
   */
  sslmode?: 0 | 1 | 2 | 3;
  /**
   * postgresql: PEM file of the CA that signed the server's certificate (sslmode 2 and 3).
   */
  root_cert?: string;
  /**
   * postgresql: PEM client certificate for TLS client authentication (with client_key).
   */
  client_cert?: string;
  /**
   * postgresql: PEM key of client_cert.
   */
  client_key?: string;
  /**
   * postgresql: connections each server keeps open at most; 0 means 10.
   */
  pool_size?: number;
  /**
   * postgresql: this server among the replicas sharing the store (SFTPGo's data_provider.node, plus a name). Each replica registers itself with its name and API address; any replica's /api/v2/connections then lists the connections of all of them, and closes one on the replica that holds it.
   */
  node?: {
    /**
     * Ours: the replica's name in log lines (node), /metrics, /api/v2/status and connection listings; unique among the replicas (replicas with one name do not see each other's changes). Default: the host name and the port of the first REST API binding (host:port), or the host name and process id without one.
     */
    name?: string;
    /**
     * The host name or address the other replicas reach this one's REST API at. Absent: the others cannot reach it, and its connections are listed only by itself.
     */
    host?: string;
    /**
     * The port of that API; 0 means the protocol's default (80 or 443).
     */
    port?: number;
    /**
     * How the replicas call that API: http (the default) or https (the certificate is checked against the system's CAs and NODE_EXTRA_CA_CERTS).
     */
    proto?: 'http' | 'https';
  };
  /**
   * Directory for the store and generated host keys; relative paths are resolved against the working directory.
   */
  data_dir?: string;
  /**
   * When a user has no home_dir, it is users_base_dir/<username>.
   */
  users_base_dir?: string;
  /**
   * Where backup event actions (type 4) write their dumps, as backup_<Weekday>_<hour>.json (UTC), so a week of hourly backups is kept; relative paths are resolved against the data dir. Default: <data dir>/backups.
   */
  backups_path?: string;
  /**
   * Keep passwords that verified in memory, so a user or admin who logs in again skips the slow hash check (bcrypt, argon2id): up to 600 accounts (users and admins), each dropped after an hour unused. Only a keyed hash of the password is kept (HMAC under a per-process random key), with the stored hash it matched, so a changed password misses; a wrong password always gets the full check. Login hooks, filters and TOTP still run on every login. Default true, as in SFTPGo.
   */
  password_caching?: boolean;
  password_hashing?: {
    algo?: 'bcrypt' | 'argon2id';
    bcrypt_options?: {
      cost?: number;
    };
    argon2_options?: {
      memory?: number;
      iterations?: number;
      parallelism?: number;
    };
  };
  external_auth_hook?: HookCommand;
  /**
   * Methods sent to external_auth_hook, a bitmask: 0 all, 1 password, 2 public key, 4 keyboard-interactive, 8 TLS certificate.
   */
  external_auth_scope?: number;
  /**
   * Seconds a user accepted by external_auth_hook is trusted without asking the hook again (same password, or a key it accepted); 0 asks the hook at every login.
   */
  external_auth_cache_time?: number;
  pre_login_hook?: HookCommand;
  post_login_hook?: HookCommand;
  /**
   * 0 every login, 1 failed logins only, 2 successful logins only.
   */
  post_login_scope?: 0 | 1 | 2;
  check_password_hook?: HookCommand;
  /**
   * Protocols sent to check_password_hook, a bitmask: 0 all, 1 SSH, 2 FTP, 4 WebDAV, 8 HTTP.
   */
  check_password_scope?: number;
  track_quota?: 0 | 1 | 2;
};
/**
 * A user or folder name, by SFTPGo's default naming rules: any UTF-8 characters (josé, 名前), 1 to 255 of them, except / \ : * ? " < > | and control or format characters; no leading or trailing space, no trailing dot; not ".", ".." or a reserved device name (CON, PRN, AUX, NUL, COM1-9, LPT1-9).
 *
 * This interface was referenced by `SFTPGoTSConfiguration`'s JSON-Schema
 * via the `definition` "Name".
 */
export type Name = string;
/**
 * A secret value: a literal string, a reference to an environment variable or a file, a value generated once on first apply, an SFTPGo secret object with status Plain, or a sealed value as the store keeps literals.
 *
 * This interface was referenced by `SFTPGoTSConfiguration`'s JSON-Schema
 * via the `definition` "Secret".
 */
export type Secret =
  | string
  | {
      /**
       * Name of the environment variable holding the value.
       */
      env: string;
    }
  | {
      /**
       * Path of a file holding the value (one trailing newline is removed).
       */
      file: string;
    }
  | {
      /**
       * Generate a random value when the resource is created and print it once; keep it afterwards.
       */
      generate: true;
    }
  | {
      status: 'Plain';
      payload: string;
      key?: string;
      additional_data?: string;
      mode?: number;
    }
  | {
      /**
       * A literal secret as the store keeps it: sealed (AES-256-GCM) with the data directory's secrets.key. The API and dumps show this form; it opens only with the same secrets.key.
       */
      sealed: string;
    };

/**
 * Server settings (key names as in SFTPGo's sftpgo.json) and the desired state: users, groups, folders and admins (field names as in SFTPGo's data model).
 */
export interface SFTPGoTSConfiguration {
  common?: Common;
  sftpd?: Sftpd;
  ftpd?: Ftpd;
  webdavd?: Webdavd;
  httpd?: Httpd;
  telemetry?: Telemetry;
  smtp?: Smtp;
  data_provider?: DataProvider;
  log?: Log;
  reconcile?: ReconcileSettings;
  users?: User[];
  folders?: Folder[];
  groups?: Group[];
  admins?: Admin[];
  /**
   * Roles delegate administration: an admin with a role sees and manages only the users of that role (SFTPGo 2.7's roles).
   */
  roles?: Role[];
  /**
   * IP list entries (SFTPGo's IP lists): the allow list (type 1, consulted when common.allowlist_status is 1), the defender's safe/block list (type 2) and the rate limiters' safe list (type 3). Reconciled into the store like users; entries added through /api/v2/iplists are kept beside them.
   */
  ip_lists?: IPListEntry[];
  /**
   * Event actions (SFTPGo's event manager): HTTP requests, commands and filesystem operations that event_rules run. Reconciled into the store like users; actions added through /api/v2/eventactions are kept beside them.
   */
  event_actions?: EventAction[];
  /**
   * Event rules (SFTPGo's event manager): on filesystem events or on demand, run event_actions in order. Reconciled into the store like users; rules added through /api/v2/eventrules are kept beside them.
   */
  event_rules?: EventRule[];
  /**
   * Access assertions: what a user may or may not do, checked by `sftpgo validate` with the same logic as `sftpgo explain` (a failing one fails validation). They are tests of the config, not state: serve and plan ignore them.
   */
  assertions?: AccessAssertion[];
}
/**
 * This interface was referenced by `SFTPGoTSConfiguration`'s JSON-Schema
 * via the `definition` "Common".
 */
export interface Common {
  /**
   * Minutes without activity before a client is disconnected; 0 disables.
   */
  idle_timeout?: number;
  /**
   * 0 or standard: write in place; 1 or atomic: write to a temporary name and rename on success; 2 or atomic_resume: atomic, and a failed upload keeps the partial file for resume.
   */
  upload_mode?: (0 | 1 | 2) | ('standard' | 'atomic' | 'atomic_resume');
  /**
   * Directory where atomic uploads (upload_mode atomic or atomic_resume) to local and encrypted local storage are written before being renamed into place; relative paths are resolved against the data directory. Created when missing; read at start. It should be on the same filesystem as the homes: otherwise each completed upload is copied beside its target and then renamed. Empty: beside the target file, under a hidden temporary name. Cloud and SFTP backends are unaffected.
   */
  temp_path?: string;
  setstat_mode?: 0 | 1 | 2;
  /**
   * A rename between two virtual folders (or a folder and the home): 0 refuses it, 1 copies the file to the target storage and then deletes the source (files only).
   */
  rename_mode?: 0 | 1;
  /**
   * Most client connections open at once (SSH, FTP control, WebDAV and REST API TCP connections, authenticated or not); also refused while the live connections or transfers reach it. A connection over the cap is closed right after accept (FTP: 421 first). 0: unlimited (the default).
   */
  max_total_connections?: number;
  /**
   * Most client connections open at once from one client IP (the PROXY header's address when one is used). A connection over the cap is closed right after accept and scored by the defender as limit_exceeded; defender safelist addresses are not capped. Default 20 (as SFTPGo); 0: unlimited. Behind a load balancer, use the PROXY protocol or raise it: every client has the balancer's address otherwise.
   */
  max_per_host_connections?: number;
  /**
   * HAProxy PROXY protocol (v1 and v2) on the SFTP and FTP bindings with apply_proxy_config (default true) and WebDAV and HTTP bindings with proxy_mode 1. 0: off. 1: the header is read from every connection (within 10 seconds) but used only from proxy_allowed sources; a connection without one is accepted. 2: required: connections from sources not in proxy_allowed are rejected, and those from proxy_allowed must send a header. proxy_skipped sources never have a header read.
   */
  proxy_protocol?: 0 | 1 | 2;
  /**
   * IP addresses and CIDR networks of the proxies whose PROXY header is trusted.
   */
  proxy_allowed?: string[];
  /**
   * IP addresses and CIDR networks that connect directly: no PROXY header is read from them, even when proxy_protocol is 2.
   */
  proxy_skipped?: string[];
  post_connect_hook?: HookCommand;
  post_disconnect_hook?: HookCommand;
  /**
   * Seconds a login or connection hook (external auth, pre-login, check password, post-login, post-connect, post-disconnect) may run before it is killed; a hook that decides (external auth, pre-login, check password, post-connect) denies when it times out. Default 30.
   */
  hooks_timeout?: number;
  /**
   * Custom actions on file events: each event in execute_on runs the hook, a program (the event in SFTPGO_ACTION_* environment variables) or an http(s) URL (the event as a JSON POST). upload and download are reported when a transfer ends, with status 1 ok, 2 error, 3 quota exceeded; delete, rename, mkdir and rmdir after they succeed; ssh_cmd after an SSH hash/cd/pwd command (scp reports upload and download instead). first-upload and first-download are reported, besides upload and download, at a user's first successful upload (download) ever; the mark is kept in the store. pre-upload, pre-download and pre-delete always run synchronously: a hook that fails, answers non-2xx or times out refuses the operation with a permission error and nothing is written, read or deleted.
   */
  actions?: {
    execute_on?: (
      | 'upload'
      | 'pre-upload'
      | 'download'
      | 'pre-download'
      | 'delete'
      | 'pre-delete'
      | 'rename'
      | 'mkdir'
      | 'rmdir'
      | 'ssh_cmd'
      | 'first-upload'
      | 'first-download'
    )[];
    /**
     * Events whose operation waits for the hook (the others are queued). A synchronous upload action that fails removes the uploaded file and the client gets a permission error; other synchronous post-event failures are logged. pre-* events are always synchronous.
     */
    execute_sync?: (
      | 'upload'
      | 'pre-upload'
      | 'download'
      | 'pre-download'
      | 'delete'
      | 'pre-delete'
      | 'rename'
      | 'mkdir'
      | 'rmdir'
      | 'ssh_cmd'
      | 'first-upload'
      | 'first-download'
    )[];
    hook?: HookCommand;
    /**
     * Seconds each hook run may take before it is killed (or its HTTP request aborted) and counted as failed. Default 30.
     */
    timeout?: number;
    /**
     * Asynchronous notifications waiting for one of the 4 workers; when full, new ones are dropped, counted in sftpgo_actions_dropped_total and logged once per burst. On shutdown the queue gets 5 seconds to drain. Default 1000.
     */
    queue_size?: number;
  };
  defender?: {
    enabled?: boolean;
    /**
     * Where scores and bans live (SFTPGo's drivers). memory: each server scores its own clients (bans are kept in the store across restarts). provider: scores and bans in the shared data provider, so every server sharing it (data_provider.driver postgresql) counts the same failed logins and holds the same bans; it needs that shared store. Default: provider with data_provider.driver postgresql, memory otherwise.
     */
    driver?: 'memory' | 'provider';
    /**
     * Minutes a host stays banned once its score reaches the threshold (fractions allowed: 0.5 is 30 seconds).
     */
    ban_time?: number;
    /**
     * Percent of ban_time added to a ban each time the banned host tries to connect again (SFTPGo's rule).
     */
    ban_time_increment?: number;
    threshold?: number;
    score_invalid?: number;
    score_valid?: number;
    score_limit_exceeded?: number;
    score_no_auth?: number;
    /**
     * Minutes: only events this recent count toward the threshold (fractions allowed).
     */
    observation_time?: number;
    entries_soft_limit?: number;
    /**
     * memory: above this many scored hosts (or bans) the oldest are dropped down to entries_soft_limit. provider: the most hosts the API lists, as in SFTPGo.
     */
    entries_hard_limit?: number;
    /**
     * Deprecated (SFTPGo replaced it with ip_lists entries of type 2): still honoured, with a warning logged once per start.
     */
    safelist?: string[];
    /**
     * Deprecated (SFTPGo replaced it with ip_lists entries of type 2): still honoured, with a warning logged once per start.
     */
    blocklist?: string[];
    /**
     * Deprecated (SFTPGo replaced it with ip_lists entries of type 2): still honoured, with a warning logged once per start.
     */
    safelist_file?: string;
    /**
     * Deprecated (SFTPGo replaced it with ip_lists entries of type 2): still honoured, with a warning logged once per start.
     */
    blocklist_file?: string;
  };
  /**
   * 1: only client addresses on the allow list (ip_lists entries of type 1, per protocol) may connect; any other connection is closed right after accept (FTP: 421 first). 0: off (the default).
   */
  allowlist_status?: 0 | 1;
  /**
   * Token-bucket rate limiters, as in SFTPGo. SSH and FTP count new connections, WebDAV and HTTP count requests; a client over the limit is refused (SSH: disconnected before authentication, FTP: 421, WebDAV and HTTP: 429 with Retry-After). Addresses on the rate limiters' safe list (ip_lists type 3) are exempt.
   */
  rate_limiters?: RateLimiter[];
  /**
   * Settings of the event manager (event_rules).
   */
  event_manager?: {
    /**
     * Absolute paths of the programs command actions may run; a command action naming another program is refused, as in SFTPGo.
     */
    enabled_commands?: string[];
  };
}
/**
 * This interface was referenced by `SFTPGoTSConfiguration`'s JSON-Schema
 * via the `definition` "RateLimiter".
 */
export interface RateLimiter {
  /**
   * Events allowed per period; 0 (the default) turns the limiter off.
   */
  average?: number;
  /**
   * The period in milliseconds (default 1000).
   */
  period?: number;
  /**
   * Events allowed at once before the average applies (default 1).
   */
  burst?: number;
  /**
   * 1: one bucket for every client; 2: one bucket per client address (the default).
   */
  type?: 1 | 2;
  /**
   * The protocols limited: SSH, FTP, DAV (WebDAV), HTTP (the REST API). Absent: all four (SFTPGo's default); an empty list turns the limiter off.
   */
  protocols?: ('SSH' | 'FTP' | 'DAV' | 'HTTP')[];
  /**
   * Per-source limiters only: each refusal scores score_limit_exceeded in the defender.
   */
  generate_defender_events?: boolean;
  /**
   * Per-source limiters: buckets kept after a cleanup (least recently used dropped first).
   */
  entries_soft_limit?: number;
  /**
   * Per-source limiters: buckets that trigger a cleanup; must be greater than entries_soft_limit.
   */
  entries_hard_limit?: number;
}
/**
 * This interface was referenced by `SFTPGoTSConfiguration`'s JSON-Schema
 * via the `definition` "Sftpd".
 */
export interface Sftpd {
  bindings?: Binding[];
  max_auth_tries?: number;
  /**
   * Identification string sent after SSH-2.0-.
   */
  banner?: string;
  login_banner_file?: string;
  /**
   * Seconds from accept for an SSH client to authenticate (OpenSSH's LoginGraceTime): a client still unauthenticated is disconnected and logged as login_failed, reason login_grace_time_exceeded. 0 or unset: 120 (unlike OpenSSH, 0 does not disable it).
   */
  login_grace_time?: number;
  host_keys?: string[];
  kex_algorithms?: string[];
  ciphers?: string[];
  macs?: string[];
  host_key_algorithms?: string[];
  /**
   * Files holding the public keys of the certificate authorities trusted to sign OpenSSH user certificates (relative paths are resolved against the data directory, as host_keys). A user certificate from one of them logs its user in without the key being in public_keys, if it is currently valid, is of type user, lists the username among its principals and carries no critical option other than source-address (which is enforced against the client address).
   */
  trusted_user_ca_keys?: string[];
  enabled_ssh_commands?: string[];
  /**
   * Offer SSH keyboard-interactive authentication. Without keyboard_interactive_auth_hook it asks for the password once ("Password: "). Users with TOTP for SSH are asked for their code by keyboard-interactive whatever this setting.
   */
  keyboard_interactive_authentication?: boolean;
  /**
   * An absolute path of a program (run without a shell), or an http(s) URL; empty means none.
   */
  keyboard_interactive_auth_hook?: string;
  password_authentication?: boolean;
}
/**
 * This interface was referenced by `SFTPGoTSConfiguration`'s JSON-Schema
 * via the `definition` "Binding".
 */
export interface Binding {
  /**
   * Listen address; empty means all interfaces.
   */
  address?: string;
  port: number;
  /**
   * Apply common.proxy_protocol to this binding; default true, as in SFTPGo.
   */
  apply_proxy_config?: boolean;
}
/**
 * This interface was referenced by `SFTPGoTSConfiguration`'s JSON-Schema
 * via the `definition` "Ftpd".
 */
export interface Ftpd {
  bindings?: TlsBinding[];
  banner?: string;
  banner_file?: string;
  /**
   * true (the default): active data connections come from an ephemeral port. false: from the port below the control port (20 for 21), which needs the privilege to bind it.
   */
  active_transfers_port_non_20?: boolean;
  disable_active_mode?: boolean;
  passive_port_range?: {
    start?: number;
    end?: number;
  };
  certificate_file?: string;
  certificate_key_file?: string;
  /**
   * 1 enables the HASH, XCRC, MD5/XMD5, XSHA/XSHA1, XSHA256 and XSHA512 commands (each reads the whole file).
   */
  hash_support?: 0 | 1;
  /**
   * 1 enables COMB target part1 part2 ...: the parts are appended to the target in order, through the same checks as a download and an upload, then removed.
   */
  combine_support?: 0 | 1;
  data_connection_timeout?: number;
}
/**
 * This interface was referenced by `SFTPGoTSConfiguration`'s JSON-Schema
 * via the `definition` "TlsBinding".
 */
export interface TlsBinding {
  address?: string;
  port: number;
  /**
   * FTP bindings: apply common.proxy_protocol to the control and passive data connections; default true, as in SFTPGo. Not taken by WebDAV and HTTP bindings (see proxy_mode).
   */
  apply_proxy_config?: boolean;
  /**
   * FTP: 0 plain or explicit TLS allowed, 1 explicit TLS required, 2 implicit TLS.
   */
  tls_mode?: 0 | 1 | 2;
  certificate_file?: string;
  certificate_key_file?: string;
  min_tls_version?: 12 | 13;
  force_passive_ip?: string;
  passive_ip_overrides?: {
    networks?: string[];
    ip?: string;
  }[];
  passive_connections_security?: number;
  active_connections_security?: number;
  /**
   * Log every FTP command (passwords masked) and reply on this binding at info level, as ftp_command and ftp_reply lines.
   */
  debug?: boolean;
}
/**
 * This interface was referenced by `SFTPGoTSConfiguration`'s JSON-Schema
 * via the `definition` "Webdavd".
 */
export interface Webdavd {
  bindings?: WebdavBinding[];
  certificate_file?: string;
  certificate_key_file?: string;
  cors?: {
    enabled?: boolean;
    allowed_origins?: string[];
    allowed_methods?: string[];
    allowed_headers?: string[];
    exposed_headers?: string[];
    allow_credentials?: boolean;
    max_age?: number;
  };
  cache?: {
    users?: {
      expiration_time?: number;
      max_size?: number;
    };
  };
}
/**
 * This interface was referenced by `SFTPGoTSConfiguration`'s JSON-Schema
 * via the `definition` "WebdavBinding".
 */
export interface WebdavBinding {
  address?: string;
  port: number;
  /**
   * 1 applies common.proxy_protocol (the PROXY header) to this binding, as SFTPGo's proxy_mode; 0 (the default) does not.
   */
  proxy_mode?: 0 | 1;
  enable_https?: boolean;
  certificate_file?: string;
  certificate_key_file?: string;
  min_tls_version?: 12 | 13;
  prefix?: string;
}
/**
 * This interface was referenced by `SFTPGoTSConfiguration`'s JSON-Schema
 * via the `definition` "Httpd".
 */
export interface Httpd {
  bindings?: HttpdBinding[];
  certificate_file?: string;
  certificate_key_file?: string;
  /**
   * Seconds a JWT from /api/v2/token stays valid.
   */
  token_validity?: number;
}
/**
 * This interface was referenced by `SFTPGoTSConfiguration`'s JSON-Schema
 * via the `definition` "HttpdBinding".
 */
export interface HttpdBinding {
  address?: string;
  port: number;
  /**
   * 1 applies common.proxy_protocol (the PROXY header) to this binding, as SFTPGo's proxy_mode; 0 (the default) does not.
   */
  proxy_mode?: 0 | 1;
  enable_https?: boolean;
  certificate_file?: string;
  certificate_key_file?: string;
  min_tls_version?: 12 | 13;
  /**
   * Serve the REST API (/api/v2) on this binding (default true). A binding with the REST API, the web admin and the web client all off is not opened.
   */
  enable_rest_api?: boolean;
  /**
   * Serve the web admin (/web/admin) on this binding (default true, as SFTPGo).
   */
  enable_web_admin?: boolean;
  /**
   * Serve the web client (/web/client: files, shares, profile for users) on this binding (default true, as SFTPGo).
   */
  enable_web_client?: boolean;
}
/**
 * SFTPGo's telemetry listener: /healthz, and /metrics (Prometheus) behind optional HTTP Basic auth. Off unless bind_port is set.
 *
 * This interface was referenced by `SFTPGoTSConfiguration`'s JSON-Schema
 * via the `definition` "Telemetry".
 */
export interface Telemetry {
  /**
   * 0 (the default) disables the listener.
   */
  bind_port?: number;
  /**
   * Default 127.0.0.1; empty listens on every interface.
   */
  bind_address?: string;
  /**
   * SFTPGo's Go profiler (/debug/pprof): not supported, only false is accepted.
   */
  enable_profiler?: boolean;
  /**
   * An htpasswd file (bcrypt $2y$/$2a$/$2b$, md5-crypt $1$ or Apache $apr1$ entries) guarding /metrics; re-read when it changes. Relative paths are resolved against the working directory.
   */
  auth_user_file?: string;
  certificate_file?: string;
  certificate_key_file?: string;
  min_tls_version?: 12 | 13;
  /**
   * Not supported: only an empty list is accepted (Node picks the TLS 1.2 suites).
   */
  tls_cipher_suites?: string[];
  /**
   * ALPN protocols: only http/1.1 is supported.
   */
  tls_protocols?: ('http/1.1' | 'h2')[];
}
/**
 * SFTPGo's smtp section: the mail server email actions (type 3) and password expiration checks (type 11) send through. Without a host nothing is sent and those actions fail. Read again on reload.
 *
 * This interface was referenced by `SFTPGoTSConfiguration`'s JSON-Schema
 * via the `definition` "Smtp".
 */
export interface Smtp {
  /**
   * The SMTP server's name or address; empty disables email.
   */
  host?: string;
  port?: number;
  /**
   * The From address, e.g. "SFTPGo <sftpgo@example.com>"; when empty the user is used, as in SFTPGo (one of the two is required).
   */
  from?: string;
  /**
   * The SMTP login; with neither user nor password no authentication is attempted.
   */
  user?: string;
  /**
   * The SMTP password.
   */
  password?:
    | string
    | {
        /**
         * Name of the environment variable holding the value.
         */
        env: string;
      }
    | {
        /**
         * Path of a file holding the value (one trailing newline is removed).
         */
        file: string;
      }
    | {
        /**
         * Generate a random value when the resource is created and print it once; keep it afterwards.
         */
        generate: true;
      }
    | {
        status: 'Plain';
        payload: string;
        key?: string;
        additional_data?: string;
        mode?: number;
      }
    | {
        /**
         * A literal secret as the store keeps it: sealed (AES-256-GCM) with the data directory's secrets.key. The API and dumps show this form; it opens only with the same secrets.key.
         */
        sealed: string;
      };
  /**
   * 0 PLAIN, 1 LOGIN, 2 CRAM-MD5. SFTPGo's 3 (OAuth2) is not supported.
   */
  auth_type?: 0 | 1 | 2;
  /**
   * 0 none, 1 implicit TLS (usually port 465), 2 STARTTLS, required (usually port 587). The server's certificate is verified against the system's trusted CAs.
   */
  encryption?: 0 | 1 | 2;
  /**
   * The name sent with EHLO/HELO; localhost when empty.
   */
  domain?: string;
  /**
   * A directory (relative to the config file's) whose email/password-expiration.html, when present, replaces the built-in body of password expiration emails; {{.Username}} and {{.Days}} are replaced in it (Go template actions such as {{if}} are not evaluated).
   */
  templates_path?: string;
  /**
   * 1 logs the SMTP conversation at debug level (credentials are not logged).
   */
  debug?: 0 | 1;
}
/**
 * This interface was referenced by `SFTPGoTSConfiguration`'s JSON-Schema
 * via the `definition` "Log".
 */
export interface Log {
  level?: 'debug' | 'info' | 'warn' | 'error';
  /**
   * Also append JSON log lines to this file.
   */
  file?: string;
}
/**
 * This interface was referenced by `SFTPGoTSConfiguration`'s JSON-Schema
 * via the `definition` "ReconcileSettings".
 */
export interface ReconcileSettings {
  /**
   * Delete users, folders and admins created at runtime (through the API) that the file does not declare.
   */
  prune?: boolean;
  /**
   * Re-read and reconcile the config file when it changes on disk (as SIGHUP does); an invalid edit is rejected and the running state stays.
   */
  watch?: boolean;
  git?: GitSyncSettings;
}
/**
 * Follow a config repository over HTTP(S): the file at `path` on `branch` is the whole config (users, folders, server settings), fetched every `interval` seconds and on SIGHUP, validated and reconciled as a reload is; an invalid commit is refused and the last good revision keeps serving. With this key the local config file holds only `reconcile.git` and, optionally, `data_provider.data_dir`.
 *
 * This interface was referenced by `SFTPGoTSConfiguration`'s JSON-Schema
 * via the `definition` "GitSyncSettings".
 */
export interface GitSyncSettings {
  /**
   * The repository's HTTP(S) URL (smart HTTP, as `git clone` takes it).
   */
  url: string;
  /**
   * The branch followed.
   */
  branch?: string;
  /**
   * The config file's path inside the repository.
   */
  path?: string;
  /**
   * Seconds between two checks of the branch.
   */
  interval?: number;
  /**
   * The HTTP Basic auth user sent with `token`.
   */
  username?: string;
  /**
   * The HTTP Basic auth password (an access token); without it the repository is read anonymously.
   */
  token?:
    | string
    | {
        /**
         * Name of the environment variable holding the value.
         */
        env: string;
      }
    | {
        /**
         * Path of a file holding the value (one trailing newline is removed).
         */
        file: string;
      }
    | {
        /**
         * Generate a random value when the resource is created and print it once; keep it afterwards.
         */
        generate: true;
      }
    | {
        status: 'Plain';
        payload: string;
        key?: string;
        additional_data?: string;
        mode?: number;
      }
    | {
        /**
         * A literal secret as the store keeps it: sealed (AES-256-GCM) with the data directory's secrets.key. The API and dumps show this form; it opens only with the same secrets.key.
         */
        sealed: string;
      };
}
/**
 * This interface was referenced by `SFTPGoTSConfiguration`'s JSON-Schema
 * via the `definition` "User".
 */
export interface User {
  username: Name;
  /**
   * 1 enabled (default), 0 disabled.
   */
  status?: 0 | 1;
  email?: string;
  description?: string;
  additional_info?: string;
  /**
   * Unix time in milliseconds; 0 means no expiration.
   */
  expiration_date?: number;
  password?: Secret;
  public_keys?: string[];
  home_dir?: string;
  uid?: number;
  gid?: number;
  max_sessions?: number;
  quota_size?: number;
  quota_files?: number;
  permissions?: Permissions;
  /**
   * KB/s; 0 means unlimited.
   */
  upload_bandwidth?: number;
  download_bandwidth?: number;
  /**
   * MB; 0 means unlimited.
   */
  upload_data_transfer?: number;
  download_data_transfer?: number;
  total_data_transfer?: number;
  filters?: UserFilters;
  filesystem?: Filesystem;
  virtual_folders?: VirtualFolder[];
  /**
   * The role this user belongs to (a name under roles): only super admins and the admins of this role manage it.
   */
  role?: string;
  /**
   * Groups the user belongs to, declared under groups:.
   */
  groups?: GroupMapping[];
}
/**
 * Map of virtual path to the permissions granted there; the most specific path wins. `copy` (SFTPGo 2.6) allows server-side copies (the sftpgo-copy SSH command) from and to a directory; "*" includes it. WebDAV COPY needs download and upload instead, as in SFTPGo.
 *
 * This interface was referenced by `SFTPGoTSConfiguration`'s JSON-Schema
 * via the `definition` "Permissions".
 */
export interface Permissions {
  [k: string]: (
    | '*'
    | 'list'
    | 'download'
    | 'upload'
    | 'overwrite'
    | 'delete'
    | 'delete_files'
    | 'delete_dirs'
    | 'rename'
    | 'rename_files'
    | 'rename_dirs'
    | 'create_dirs'
    | 'create_symlinks'
    | 'chmod'
    | 'chown'
    | 'chtimes'
    | 'copy'
  )[];
}
/**
 * This interface was referenced by `SFTPGoTSConfiguration`'s JSON-Schema
 * via the `definition` "UserFilters".
 */
export interface UserFilters {
  allowed_ip?: string[];
  denied_ip?: string[];
  denied_login_methods?: (
    | 'publickey'
    | 'password'
    | 'password-over-SSH'
    | 'keyboard-interactive'
    | 'publickey+password'
    | 'publickey+keyboard-interactive'
    | 'TLSCertificate'
    | 'TLSCertificate+password'
  )[];
  denied_protocols?: ('SSH' | 'FTP' | 'DAV' | 'HTTP')[];
  /**
   * Shell patterns (*, ?, [abc], case-insensitive) on entry names, per directory: the entry for the most specific path at or above an entry's parent applies to files and directories directly in it and below. A denied_patterns match refuses the name; when allowed_patterns is set the name must match one of them. Refused names cannot be downloaded, uploaded, renamed, deleted, created or have attributes changed.
   */
  file_patterns?: PatternsFilter[];
  max_upload_file_size?: number;
  hooks?: {
    external_auth_disabled?: boolean;
    pre_login_disabled?: boolean;
    check_password_disabled?: boolean;
  };
  /**
   * Skip creating the home directory (and the local or encrypted roots of virtual folders) at login: for storage prepared out of band. A missing root then makes requests fail instead of being created.
   */
  disable_fs_checks?: boolean;
  /**
   * Let the user's API keys (scope 2 keys of /api/v2/apikeys) authenticate its user API requests, as SFTPGo's; off by default. The user may change it through PUT /api/v2/user/profile.
   */
  allow_api_key_auth?: boolean;
  /**
   * Virtual directory a session starts in: SFTP's initial working directory (realpath ".") and base of relative paths, FTP's first PWD. Created with its parents at login when missing and the user may create directories there; if it cannot be used the session starts at "/" (logged as start_directory_unavailable). Not used by WebDAV, whose URLs are always absolute.
   */
  start_directory?: string;
  /**
   * Methods one of which must follow a successful public key login (SSH partial success); with it set, a password or keyboard-interactive login without a key first is refused. A method is left out when denied_login_methods holds publickey+<method>.
   */
  next_auth_methods?: ('password' | 'keyboard-interactive')[];
  /**
   * Time-based one-time passwords (RFC 6238: SHA-1, 6 digits, 30 s, one step of clock drift; a code is accepted once). Over SSH the code is asked by keyboard-interactive ("Authentication code: ") after the password or public key; over FTP the code is appended to the password. `secret` is the shared secret in base32, as authenticator apps show it (a literal is stored sealed; an env or file reference keeps it out of the config); the API never shows it.
   */
  totp_config?: {
    /**
     * Require a code on the listed protocols.
     */
    enabled?: boolean;
    /**
     * Accepted only as "Default": SFTPGo's default TOTP configuration (SHA-1, 6 digits, 30 s), the one this server implements.
     */
    config_name?: 'Default';
    secret?: Secret;
    /**
     * Protocols on which the code is required.
     */
    protocols?: ('SSH' | 'FTP' | 'HTTP')[];
  };
  /**
   * 1: the user must use FTPS. USER on a clear control connection is answered "421 TLS is required" before any password, and data connections must be protected (PROT P).
   */
  ftp_security?: 0 | 1;
  /**
   * Days a password logs in for, counted from the user's last_password_change (set by the server whenever a new password is stored); 0 never expires. An expired password is refused over SFTP, FTP and WebDAV; public keys still work.
   */
  password_expiration?: number;
  /**
   * Days a share the user creates without an expiration expires after (SFTPGo's); 0: such a share never expires.
   */
  default_shares_expiration?: number;
  /**
   * Days within which every share of the user must expire: a share without an expiration, or expiring later, is refused when it is created or changed (SFTPGo's); 0: no limit.
   */
  max_shares_expiration?: number;
  /**
   * The user must set a new password (through the REST API) before any password login works; public keys still work. A new password set with PUT /api/v2/users/{username} clears it.
   */
  require_password_change?: boolean;
}
/**
 * This interface was referenced by `SFTPGoTSConfiguration`'s JSON-Schema
 * via the `definition` "PatternsFilter".
 */
export interface PatternsFilter {
  /**
   * Absolute virtual directory the patterns apply to (and below it, unless a more specific path has its own entry).
   */
  path: string;
  /**
   * When set, only names matching one of these shell patterns are allowed.
   */
  allowed_patterns?: string[];
  /**
   * Names matching any of these shell patterns are refused; checked before allowed_patterns.
   */
  denied_patterns?: string[];
  /**
   * 0: denied entries are listed (and can be stat'ed) but cannot be used; 1: denied entries are also hidden from listings and read as missing (not found).
   */
  deny_policy?: 0 | 1;
}
/**
 * This interface was referenced by `SFTPGoTSConfiguration`'s JSON-Schema
 * via the `definition` "Filesystem".
 */
export interface Filesystem {
  /**
   * Storage backend: local (0), s3 (1), gcs (2), azblob (3), crypt (4), sftp (5). SFTPGo's numbers are accepted.
   */
  provider?: (0 | 1 | 2 | 3 | 4 | 5) | ('local' | 's3' | 'gcs' | 'azblob' | 'crypt' | 'sftp');
  s3config?: S3Config;
  gcsconfig?: GCSConfig;
  azblobconfig?: AzBlobConfig;
  cryptconfig?: CryptConfig;
  sftpconfig?: SFTPFsConfig;
  /**
   * Object stores: allow renaming a directory as a bounded copy+delete of its objects.
   */
  rename_dirs?: boolean;
  rename_dir_max_objects?: number;
}
/**
 * This interface was referenced by `SFTPGoTSConfiguration`'s JSON-Schema
 * via the `definition` "S3Config".
 */
export interface S3Config {
  bucket: string;
  region?: string;
  access_key?: string;
  access_secret?: Secret;
  session_token?: Secret;
  role_arn?: string;
  endpoint?: string;
  storage_class?: string;
  acl?: string;
  key_prefix?: string;
  /**
   * MB; 0 means 5.
   */
  upload_part_size?: number;
  upload_concurrency?: number;
  /**
   * Seconds one part may take to upload before the upload fails; 0 means the part size in MB, in minutes (as SFTPGo).
   */
  upload_part_max_time?: number;
  download_part_size?: number;
  download_concurrency?: number;
  download_part_max_time?: number;
  force_path_style?: boolean;
  skip_tls_verify?: boolean;
  sse_customer_key?: Secret;
  /**
   * AES256 or aws:kms.
   */
  server_side_encryption?: string;
  sse_kms_key_id?: string;
  request_checksum_calculation?: 'when_supported' | 'when_required';
  response_checksum_validation?: 'when_supported' | 'when_required';
}
/**
 * This interface was referenced by `SFTPGoTSConfiguration`'s JSON-Schema
 * via the `definition` "GCSConfig".
 */
export interface GCSConfig {
  bucket: string;
  credentials?: Secret;
  credentials_file?: string;
  automatic_credentials?: 0 | 1;
  storage_class?: string;
  acl?: string;
  key_prefix?: string;
  endpoint?: string;
  upload_part_size?: number;
  /**
   * Seconds one resumable upload chunk may take before the upload fails; 0 means 32 s (as SFTPGo).
   */
  upload_part_max_time?: number;
}
/**
 * This interface was referenced by `SFTPGoTSConfiguration`'s JSON-Schema
 * via the `definition` "AzBlobConfig".
 */
export interface AzBlobConfig {
  container?: string;
  account_name?: string;
  account_key?: Secret;
  sas_url?: Secret;
  endpoint?: string;
  key_prefix?: string;
  upload_part_size?: number;
  upload_concurrency?: number;
  download_part_size?: number;
  download_concurrency?: number;
  use_emulator?: boolean;
  access_tier?: '' | 'Archive' | 'Hot' | 'Cool' | 'Cold';
}
/**
 * This interface was referenced by `SFTPGoTSConfiguration`'s JSON-Schema
 * via the `definition` "CryptConfig".
 */
export interface CryptConfig {
  passphrase: Secret;
  cipher?: 'aes-256-gcm' | 'chacha20-poly1305';
  /**
   * Where the encrypted files are stored: local (default: home_dir or mapped_path) or the backend whose config block (s3config, gcsconfig, azblobconfig, sftpconfig) sits beside cryptconfig in the same filesystem.
   */
  storage?: 'local' | 's3' | 'gcs' | 'azblob' | 'sftp';
}
/**
 * This interface was referenced by `SFTPGoTSConfiguration`'s JSON-Schema
 * via the `definition` "SFTPFsConfig".
 */
export interface SFTPFsConfig {
  /**
   * host:port
   */
  endpoint: string;
  username: string;
  password?: Secret;
  private_key?: Secret;
  key_passphrase?: Secret;
  fingerprints?: string[];
  prefix?: string;
  disable_concurrent_reads?: boolean;
  buffer_size?: number;
  /**
   * Accepted only as 0: renames on this backend are plain SFTP renames, never a copy that would need an equality check.
   */
  equality_check_mode?: 0;
}
/**
 * This interface was referenced by `SFTPGoTSConfiguration`'s JSON-Schema
 * via the `definition` "VirtualFolder".
 */
export interface VirtualFolder {
  name: string;
  virtual_path: string;
  quota_size?: number;
  quota_files?: number;
}
/**
 * This interface was referenced by `SFTPGoTSConfiguration`'s JSON-Schema
 * via the `definition` "GroupMapping".
 */
export interface GroupMapping {
  name: Name;
  /**
   * 1 primary (at most one per user: settings inherited), 2 secondary (permissions, virtual folders and list filters added), 3 membership only (nothing inherited).
   */
  type: 1 | 2 | 3;
}
/**
 * This interface was referenced by `SFTPGoTSConfiguration`'s JSON-Schema
 * via the `definition` "Folder".
 */
export interface Folder {
  name: Name;
  description?: string;
  /**
   * Local or encrypted folder: the directory on disk.
   */
  mapped_path?: string;
  filesystem?: Filesystem;
}
/**
 * This interface was referenced by `SFTPGoTSConfiguration`'s JSON-Schema
 * via the `definition` "Group".
 */
export interface Group {
  name: Name;
  description?: string;
  user_settings?: GroupUserSettings;
  /**
   * Mounted for members of primary and secondary groups at paths where the user mounts nothing (a secondary group's "/" is ignored); %username% and %role% are replaced in virtual_path.
   */
  virtual_folders?: VirtualFolder[];
}
/**
 * Settings a group gives its members (SFTPGo's GroupUserSettings). From the primary group: home_dir and a non-local filesystem replace the user's; max_sessions, quotas, bandwidth, data transfer limits and expires_in apply where the user has 0. From primary and secondary groups: permissions for paths the user has none for (the primary group's "/" replaces the user's; a secondary group's "/" is ignored). %username% and %role% are replaced in home_dir, permission paths, S3/GCS/Azure key_prefix and an SFTP backend's username and prefix.
 *
 * This interface was referenced by `SFTPGoTSConfiguration`'s JSON-Schema
 * via the `definition` "GroupUserSettings".
 */
export interface GroupUserSettings {
  /**
   * Absolute; %username% and %role% are replaced. Replaces the home_dir of every member of the primary group.
   */
  home_dir?: string;
  max_sessions?: number;
  quota_size?: number;
  quota_files?: number;
  permissions?: Permissions;
  /**
   * KB/s; 0 means unlimited.
   */
  upload_bandwidth?: number;
  download_bandwidth?: number;
  /**
   * MB; 0 means unlimited.
   */
  upload_data_transfer?: number;
  download_data_transfer?: number;
  total_data_transfer?: number;
  /**
   * Days from the member's creation the account expires, for primary members without an expiration_date; 0: none.
   */
  expires_in?: number;
  filters?: GroupFilters;
  filesystem?: Filesystem;
}
/**
 * The user filters a group carries. From a primary group, single values (max_upload_file_size, hooks, disable_fs_checks, start_directory, ftp_security, password_expiration) apply when the user leaves them unset; from primary and secondary groups, the lists (allowed_ip, denied_ip, denied_login_methods, denied_protocols) are added and file_patterns for paths the user has none for (a secondary group's "/" is ignored).
 *
 * This interface was referenced by `SFTPGoTSConfiguration`'s JSON-Schema
 * via the `definition` "GroupFilters".
 */
export interface GroupFilters {
  allowed_ip?: string[];
  denied_ip?: string[];
  denied_login_methods?: (
    | 'publickey'
    | 'password'
    | 'password-over-SSH'
    | 'keyboard-interactive'
    | 'publickey+password'
    | 'publickey+keyboard-interactive'
    | 'TLSCertificate'
    | 'TLSCertificate+password'
  )[];
  denied_protocols?: ('SSH' | 'FTP' | 'DAV' | 'HTTP')[];
  /**
   * Shell patterns (*, ?, [abc], case-insensitive) on entry names, per directory: the entry for the most specific path at or above an entry's parent applies to files and directories directly in it and below. A denied_patterns match refuses the name; when allowed_patterns is set the name must match one of them. Refused names cannot be downloaded, uploaded, renamed, deleted, created or have attributes changed.
   */
  file_patterns?: PatternsFilter[];
  max_upload_file_size?: number;
  hooks?: {
    external_auth_disabled?: boolean;
    pre_login_disabled?: boolean;
    check_password_disabled?: boolean;
  };
  /**
   * Skip creating the home directory (and the local or encrypted roots of virtual folders) at login: for storage prepared out of band. A missing root then makes requests fail instead of being created.
   */
  disable_fs_checks?: boolean;
  /**
   * As a user's start_directory; %username% and %role% are replaced. Used by members of the primary group that set none.
   */
  start_directory?: string;
  /**
   * 1: the user must use FTPS. USER on a clear control connection is answered "421 TLS is required" before any password, and data connections must be protected (PROT P).
   */
  ftp_security?: 0 | 1;
  /**
   * Days a password logs in for, counted from the user's last_password_change (set by the server whenever a new password is stored); 0 never expires. An expired password is refused over SFTP, FTP and WebDAV; public keys still work.
   */
  password_expiration?: number;
}
/**
 * This interface was referenced by `SFTPGoTSConfiguration`'s JSON-Schema
 * via the `definition` "Admin".
 */
export interface Admin {
  username: string;
  status?: 0 | 1;
  email?: string;
  description?: string;
  additional_info?: string;
  password?: Secret;
  /**
   * SFTPGo 2.7's admin permissions. Only a super admin (*) manages admins and API keys and dumps, loads or reloads data.
   */
  permissions: (
    | '*'
    | 'add_users'
    | 'edit_users'
    | 'del_users'
    | 'view_users'
    | 'view_conns'
    | 'close_conns'
    | 'view_status'
    | 'manage_folders'
    | 'manage_groups'
    | 'quota_scans'
    | 'manage_defender'
    | 'view_defender'
  )[];
  filters?: {
    allow_list?: string[];
    allow_api_key_auth?: boolean;
    /**
     * Time-based one-time passwords for this admin (SFTPGo's Default configuration: SHA-1, 6 digits, 30 s): when enabled, GET /api/v2/token needs the code in X-SFTPGO-OTP and the web admin asks for it after the password. `secret` is the shared secret in base32 (a literal is stored sealed; an env or file reference keeps it out of the config); the API never shows it, and admins set their own through /api/v2/admin/totp/save.
     */
    totp_config?: {
      enabled?: boolean;
      /**
       * Accepted only as "Default".
       */
      config_name?: 'Default';
      secret?: Secret;
    };
  };
  api_keys?: {
    name: string;
    key: Secret;
    expires_at?: number;
  }[];
  /**
   * Limits this admin to the users of this role (a name under roles). A role admin cannot be a super admin (*).
   */
  role?: string;
}
/**
 * This interface was referenced by `SFTPGoTSConfiguration`'s JSON-Schema
 * via the `definition` "Role".
 */
export interface Role {
  /**
   * SFTPGo's role names: letters, digits and - _ . ~, 1 to 255 of them.
   */
  name: string;
  description?: string;
}
/**
 * This interface was referenced by `SFTPGoTSConfiguration`'s JSON-Schema
 * via the `definition` "IPListEntry".
 */
export interface IPListEntry {
  /**
   * An IP address or a CIDR network (a bare address is stored as /32 or /128).
   */
  ipornet: string;
  /**
   * 1: allow list; 2: defender (mode 1 safe list, mode 2 block list); 3: rate limiters' safe list.
   */
  type: 1 | 2 | 3;
  /**
   * 1: allow; 2: deny (type 2 only).
   */
  mode?: 1 | 2;
  /**
   * Bitmask of the protocols the entry applies to: 1 SSH, 2 FTP, 4 WebDAV, 8 HTTP; 0: all.
   */
  protocols?: number;
  description?: string;
}
/**
 * An event action (SFTPGo's EventAction): what a rule does. Types 1 HTTP, 2 command, 3 email, 4 backup, 5 user quota reset, 6 folder quota reset, 7 transfer quota reset, 8 data retention, 9 filesystem, 11 password expiration check, 12 user expiration check and 14 user inactivity check are supported; IdP checks and log rotation are not supported yet.
 *
 * This interface was referenced by `SFTPGoTSConfiguration`'s JSON-Schema
 * via the `definition` "EventAction".
 */
export interface EventAction {
  /**
   * Letters, digits and - _ . ~ (SFTPGo's naming rules).
   */
  name: string;
  description?: string;
  /**
   * 1 HTTP, 2 command, 3 email, 4 backup, 5 user quota reset, 6 folder quota reset, 7 transfer quota reset, 8 data retention check, 9 filesystem, 11 password expiration check, 12 user expiration check, 14 user inactivity check (SFTPGo's numbers; the others are not supported yet).
   */
  type: number;
  options?: {
    http_config?: EventHttpConfig;
    cmd_config?: EventCommandConfig;
    fs_config?: EventFsConfig;
    retention_config?: EventRetentionConfig;
    email_config?: EventEmailConfig;
    pwd_expiration_config?: EventPasswordExpirationConfig;
    user_inactivity_config?: EventUserInactivityConfig;
  };
}
/**
 * Type 1: an HTTP request. Placeholders ({{.VirtualPath}}, ...) are replaced in the endpoint, query parameters, header values, the basic auth username and the body; in a body sent with a Content-Type header naming application/json they are JSON-escaped.
 *
 * This interface was referenced by `SFTPGoTSConfiguration`'s JSON-Schema
 * via the `definition` "EventHttpConfig".
 */
export interface EventHttpConfig {
  /**
   * http:// or https:// URL.
   */
  endpoint: string;
  /**
   * Basic auth user (with password).
   */
  username?: string;
  /**
   * A secret value: a literal string, a reference to an environment variable or a file, a value generated once on first apply, an SFTPGo secret object with status Plain, or a sealed value as the store keeps literals.
   */
  password?:
    | string
    | {
        /**
         * Name of the environment variable holding the value.
         */
        env: string;
      }
    | {
        /**
         * Path of a file holding the value (one trailing newline is removed).
         */
        file: string;
      }
    | {
        /**
         * Generate a random value when the resource is created and print it once; keep it afterwards.
         */
        generate: true;
      }
    | {
        status: 'Plain';
        payload: string;
        key?: string;
        additional_data?: string;
        mode?: number;
      }
    | {
        /**
         * A literal secret as the store keeps it: sealed (AES-256-GCM) with the data directory's secrets.key. The API and dumps show this form; it opens only with the same secrets.key.
         */
        sealed: string;
      };
  headers?: EventKeyValue[];
  /**
   * Seconds before the request is given up (a failure); not applied when parts upload files, as in SFTPGo.
   */
  timeout?: number;
  /**
   * Accept any TLS certificate from the endpoint.
   */
  skip_tls_verify?: boolean;
  /**
   * A GET sends no body.
   */
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  query_parameters?: EventKeyValue[];
  body?: string;
  /**
   * A multipart/form-data body (instead of body): each part a field (body) or a file of the event's user (filepath), streamed. The Content-Type header is set for it, so none may be given.
   */
  parts?: EventHttpPart[];
}
/**
 * This interface was referenced by `SFTPGoTSConfiguration`'s JSON-Schema
 * via the `definition` "EventKeyValue".
 */
export interface EventKeyValue {
  key: string;
  value?: string;
}
/**
 * This interface was referenced by `SFTPGoTSConfiguration`'s JSON-Schema
 * via the `definition` "EventHttpPart".
 */
export interface EventHttpPart {
  /**
   * The form field name.
   */
  name: string;
  /**
   * A virtual path of the event's user (placeholders replaced) whose bytes are the part; its base name is the part's file name.
   */
  filepath?: string;
  /**
   * Headers of the part (values with placeholders replaced).
   */
  headers?: EventKeyValue[];
  /**
   * The part's text, placeholders replaced (JSON-escaped when the part's Content-Type names application/json). Required without filepath.
   */
  body?: string;
}
/**
 * Type 2: a program run without a shell. It must be listed in common.event_manager.enabled_commands, as in SFTPGo. Its environment holds only env_vars (a value of "$" passes the server's variable of that name); placeholders are replaced in args and env var values. Exit code 0 is success.
 *
 * This interface was referenced by `SFTPGoTSConfiguration`'s JSON-Schema
 * via the `definition` "EventCommandConfig".
 */
export interface EventCommandConfig {
  /**
   * Absolute path of the program.
   */
  cmd: string;
  args?: string[];
  /**
   * Seconds before the program is killed (a failure).
   */
  timeout?: number;
  env_vars?: EventKeyValue[];
}
/**
 * Type 9: filesystem operations on virtual paths (placeholders replaced), done as the user of the event, so its permissions and file patterns apply. For an on-demand rule, they run for every user matched by the rule's names, group names and role names.
 *
 * This interface was referenced by `SFTPGoTSConfiguration`'s JSON-Schema
 * via the `definition` "EventFsConfig".
 */
export interface EventFsConfig {
  /**
   * 1 rename (missing target directories are created), 2 delete, 3 mkdirs, 4 exist (fails when a path is missing), 5 compress (paths into a zip), 6 copy.
   */
  type: 1 | 2 | 3 | 4 | 5 | 6;
  renames?: EventRename[];
  mkdirs?: string[];
  deletes?: string[];
  exist?: string[];
  copy?: EventKeyValue[];
  /**
   * Type 5: the files and directories in paths written into the zip archive name, through the user's permissions and quota.
   */
  compress?: {
    /**
     * The archive's virtual path (placeholders replaced); missing parent directories are created, an existing file is overwritten.
     */
    name?: string;
    /**
     * Virtual paths to put in the archive (placeholders replaced); directories go in whole.
     */
    paths?: string[];
  };
}
/**
 * This interface was referenced by `SFTPGoTSConfiguration`'s JSON-Schema
 * via the `definition` "EventRename".
 */
export interface EventRename {
  /**
   * Source virtual path.
   */
  key: string;
  /**
   * Target virtual path.
   */
  value: string;
  /**
   * Set the target's modification time to now.
   */
  update_modtime?: boolean;
}
/**
 * Type 8: removes the files older than each folder's retention, for every user the rule matches (the event's user for a provider event).
 *
 * This interface was referenced by `SFTPGoTSConfiguration`'s JSON-Schema
 * via the `definition` "EventRetentionConfig".
 */
export interface EventRetentionConfig {
  folders?: {
    /**
     * A virtual directory; its retention also applies to subdirectories without one of their own.
     */
    path: string;
    /**
     * Hours; 0 excludes the path (and its subdirectories without a retention of their own).
     */
    retention?: number;
    /**
     * Removes the subdirectories left empty (never a configured path itself). As in SFTPGo the check runs with every permission and without the user's file patterns.
     */
    delete_empty_dirs?: boolean;
  }[];
}
/**
 * Type 3: an email sent through the smtp section's server. Placeholders are replaced in every field; in an HTML body (content_type 1) their values are HTML-escaped.
 *
 * This interface was referenced by `SFTPGoTSConfiguration`'s JSON-Schema
 * via the `definition` "EventEmailConfig".
 */
export interface EventEmailConfig {
  /**
   * To addresses; one that a placeholder leaves empty is dropped.
   *
   * @minItems 1
   */
  recipients: [string, ...string[]];
  bcc?: string[];
  subject: string;
  body: string;
  /**
   * 0 text/plain, 1 text/html.
   */
  content_type?: 0 | 1;
  /**
   * Virtual paths of the event's user (placeholders replaced), read through the core with the user's permissions; regular files only, 10 MiB in all, as SFTPGo.
   */
  attachments?: string[];
}
/**
 * Type 11: users whose password expires (filters.password_expiration) within threshold days are sent an email to their addresses.
 *
 * This interface was referenced by `SFTPGoTSConfiguration`'s JSON-Schema
 * via the `definition` "EventPasswordExpirationConfig".
 */
export interface EventPasswordExpirationConfig {
  /**
   * Days.
   */
  threshold: number;
}
/**
 * Type 14: users not logged in (or, never logged in, not created) for more than disable_threshold days are disabled, more than delete_threshold days deleted. At least one threshold is required; with both, delete_threshold must be greater and applies to users already disabled.
 *
 * This interface was referenced by `SFTPGoTSConfiguration`'s JSON-Schema
 * via the `definition` "EventUserInactivityConfig".
 */
export interface EventUserInactivityConfig {
  /**
   * Days; 0: never disable.
   */
  disable_threshold?: number;
  /**
   * Days; 0: never delete.
   */
  delete_threshold?: number;
}
/**
 * An event rule (SFTPGo's EventRule): when its trigger and conditions match, its actions run in order.
 *
 * This interface was referenced by `SFTPGoTSConfiguration`'s JSON-Schema
 * via the `definition` "EventRule".
 */
export interface EventRule {
  name: string;
  description?: string;
  /**
   * 0 disables the rule.
   */
  status?: 0 | 1;
  /**
   * 1 filesystem events, 2 provider events, 3 schedules, 4 IP blocked by the defender, 6 on demand (POST /api/v2/eventrules/run/{name}); certificate and IdP login triggers are not supported yet.
   */
  trigger: number;
  conditions?: {
    /**
     * @minItems 1
     */
    fs_events?: [
      (
        | 'upload'
        | 'pre-upload'
        | 'first-upload'
        | 'download'
        | 'pre-download'
        | 'first-download'
        | 'delete'
        | 'pre-delete'
        | 'rename'
        | 'mkdir'
        | 'rmdir'
        | 'copy'
        | 'ssh_cmd'
      ),
      ...(
        | 'upload'
        | 'pre-upload'
        | 'first-upload'
        | 'download'
        | 'pre-download'
        | 'first-download'
        | 'delete'
        | 'pre-delete'
        | 'rename'
        | 'mkdir'
        | 'rmdir'
        | 'copy'
        | 'ssh_cmd'
      )[]
    ];
    /**
     * Trigger 2: changes to the objects in options.provider_objects (all of them when empty), whoever makes them.
     *
     * @minItems 1
     */
    provider_events?: ['add' | 'update' | 'delete', ...('add' | 'update' | 'delete')[]];
    /**
     * Trigger 3: when the rule runs, as cron fields (minute 0 of each matching hour, UTC).
     *
     * @minItems 1
     */
    schedules?: [
      {
        /**
         * 0-23; *, lists (1,5), ranges (8-18) and steps (* /2) as in cron.
         */
        hour: string;
        /**
         * 0-6 (0 Sunday) or SUN-SAT.
         */
        day_of_week: string;
        /**
         * 1-31.
         */
        day_of_month: string;
        /**
         * 1-12 or JAN-DEC.
         */
        month: string;
      },
      ...{
        /**
         * 0-23; *, lists (1,5), ranges (8-18) and steps (* /2) as in cron.
         */
        hour: string;
        /**
         * 0-6 (0 Sunday) or SUN-SAT.
         */
        day_of_week: string;
        /**
         * 1-31.
         */
        day_of_month: string;
        /**
         * 1-12 or JAN-DEC.
         */
        month: string;
      }[]
    ];
    options?: {
      /**
       * Usernames (for provider events: the admin or actor making the change; for schedules and on-demand rules: the users actions run for); with several, any non-inverse match is enough and every inverse one must hold.
       */
      names?: EventConditionPattern[];
      /**
       * The user's groups.
       */
      group_names?: EventConditionPattern[];
      /**
       * The user's role.
       */
      role_names?: EventConditionPattern[];
      /**
       * Trigger 2: the object types that fire the rule.
       */
      provider_objects?: (
        | 'user'
        | 'folder'
        | 'group'
        | 'admin'
        | 'api_key'
        | 'share'
        | 'event_action'
        | 'event_rule'
        | 'role'
        | 'ip_list_entry'
      )[];
      /**
       * The event's virtual path, whole (/in/*.csv, not *.csv).
       */
      fs_paths?: EventConditionPattern[];
      protocols?: ('SFTP' | 'SCP' | 'SSH' | 'FTP' | 'DAV' | 'HTTP' | 'HTTPShare' | 'OIDC')[];
      /**
       * Bytes; events that carry a size (uploads, downloads, deletes, copies and their pre-* events) of smaller files do not match.
       */
      min_size?: number;
      /**
       * Bytes; events that carry a size of larger files do not match.
       */
      max_size?: number;
      /**
       * Actions run only for events with these statuses: 1 ok, 2 error, 3 quota exceeded.
       */
      event_statuses?: (1 | 2 | 3)[];
      concurrent_execution?: false;
    };
  };
  /**
   * @minItems 1
   */
  actions: [
    {
      /**
       * An event action's name.
       */
      name: string;
      /**
       * Actions run by ascending order (list order when equal).
       */
      order?: number;
      relation_options?: {
        /**
         * Runs only when another action of the rule failed.
         */
        is_failure_action?: boolean;
        /**
         * When this action fails, the rule's later actions are skipped (failure actions still run).
         */
        stop_on_failure?: boolean;
        /**
         * Runs before the operation is answered (upload and pre-* events): a failure refuses a pre-* operation and fails an upload, whose file is removed.
         */
        execute_sync?: boolean;
      };
    },
    ...{
      /**
       * An event action's name.
       */
      name: string;
      /**
       * Actions run by ascending order (list order when equal).
       */
      order?: number;
      relation_options?: {
        /**
         * Runs only when another action of the rule failed.
         */
        is_failure_action?: boolean;
        /**
         * When this action fails, the rule's later actions are skipped (failure actions still run).
         */
        stop_on_failure?: boolean;
        /**
         * Runs before the operation is answered (upload and pre-* events): a failure refuses a pre-* operation and fails an upload, whose file is removed.
         */
        execute_sync?: boolean;
      };
    }[]
  ];
}
/**
 * This interface was referenced by `SFTPGoTSConfiguration`'s JSON-Schema
 * via the `definition` "EventConditionPattern".
 */
export interface EventConditionPattern {
  /**
   * Go path.Match pattern (a pattern containing ** matches across directories).
   */
  pattern: string;
  /**
   * The condition holds when the pattern does not match.
   */
  inverse_match?: boolean;
}
/**
 * This interface was referenced by `SFTPGoTSConfiguration`'s JSON-Schema
 * via the `definition` "AccessAssertion".
 */
export interface AccessAssertion {
  /**
   * A username declared in users.
   */
  user: string;
  /**
   * A virtual path; a relative one is taken from the user's start directory.
   */
  path: string;
  operation:
    | 'list'
    | 'download'
    | 'upload'
    | 'overwrite'
    | 'delete'
    | 'rename'
    | 'mkdir'
    | 'rmdir'
    | 'chmod'
    | 'chown'
    | 'chtimes'
    | 'symlink'
    | 'copy';
  expect: 'allow' | 'deny';
  protocol?: 'SSH' | 'FTP' | 'DAV' | 'HTTP';
  /**
   * The client address; without it the user's IP filters are not consulted.
   */
  ip?: string;
  description?: string;
}
