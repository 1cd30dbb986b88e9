// One server's counters in Prometheus text form. Code that has the server's Metrics counts an event
// with `metrics.inc(name, labels)` (logins, transfers, bytes, reconcile results); the telemetry
// listener's `/metrics` renders them together with gauges read at scrape time (live connections,
// open transfers). Where SFTPGo has a metric for the same thing it has its name, type and (no)
// labels, so SFTPGo's dashboards read this server; ours beyond SFTPGo carry labels.
export type Labels = Record<string, string>;

/** SFTPGo's login metric families, by the method of the login. */
const LOGIN_FAMILIES = ['password', 'public_key', 'keyboard_interactive', 'key_and_password', 'key_and_keyboard_int', 'tls_cert', 'tls_cert_and_pwd'] as const;
type LoginFamily = (typeof LOGIN_FAMILIES)[number];

/** A login's method label ("publickey+password", "password+totp", ...) → SFTPGo's metric family. */
export function loginFamily(method: string | undefined): LoginFamily {
  const parts = new Set((method ?? '').split('+'));
  const key = parts.has('publickey');
  if (parts.has('TLSCertificate')) return parts.has('password') ? 'tls_cert_and_pwd' : 'tls_cert';
  if (key && parts.has('password')) return 'key_and_password';
  if (key && parts.has('keyboard-interactive')) return 'key_and_keyboard_int';
  if (key) return 'public_key';
  if (parts.has('keyboard-interactive')) return 'keyboard_interactive';
  return 'password';
}

/** SFTPGo's counters (unlabelled), shown from the start at 0 as its Prometheus registry shows them. */
const SFTPGO_HELP: Record<string, string> = {
  sftpgo_login_attempts_total: 'Login attempts (SFTP/SCP/SSH, FTP, WebDAV).',
  sftpgo_login_ok_total: 'Successful logins.',
  sftpgo_login_ko_total: 'Failed logins.',
  ...Object.fromEntries(
    LOGIN_FAMILIES.flatMap((f) => [
      [`sftpgo_${f}_login_attempts_total`, `Login attempts with ${f.replace(/_/g, ' ')}.`],
      [`sftpgo_${f}_login_ok_total`, `Successful logins with ${f.replace(/_/g, ' ')}.`],
      [`sftpgo_${f}_login_ko_total`, `Failed logins with ${f.replace(/_/g, ' ')}.`],
    ]),
  ),
  sftpgo_uploads_total: 'Uploads completed.',
  sftpgo_downloads_total: 'Downloads completed.',
  sftpgo_upload_errors_total: 'Uploads that failed.',
  sftpgo_download_errors_total: 'Downloads that failed.',
  sftpgo_upload_size: 'Bytes received by uploads.',
  sftpgo_download_size: 'Bytes sent by downloads.',
  sftpgo_http_req_total: 'REST API requests served.',
  sftpgo_http_req_ok_total: 'REST API requests answered 2xx.',
  sftpgo_http_client_errors_total: 'REST API requests answered 4xx.',
  sftpgo_http_server_errors_total: 'REST API requests answered 5xx.',
  sftpgo_ssh_commands_total: 'SSH commands (hash sums, cd, pwd) completed; scp counts as uploads and downloads.',
  sftpgo_ssh_command_errors_total: 'SSH commands that failed.',
  sftpgo_no_auth_total: 'Clients that left before trying to log in.',
};

/** Ours, beyond SFTPGo: labelled, shown once counted. */
const HELP: Record<string, string> = {
  ...SFTPGO_HELP,
  sftpgo_login_failed_total: 'Failed logins, by protocol (HTTP: the admin API) and reason.',
  sftpgo_transfers_total: 'Ended transfers, by protocol, direction and result.',
  sftpgo_transfer_bytes_total: 'Bytes transferred, by protocol and direction.',
  sftpgo_connection_refused_total: 'Connections refused before any login, by protocol and reason.',
  sftpgo_connection_timeouts_total: 'Connections closed because the client stopped sending (HTTP request head or body, FTP login), by protocol and reason.',
  sftpgo_protocol_errors_total: 'Clients that broke their protocol, by protocol.',
  sftpgo_defender_bans_total: 'Hosts the defender banned.',
  sftpgo_reconcile_total: 'Reconciles (startup and reloads), by result.',
  sftpgo_config_apply_failures_total: 'Git sync checks that applied no new revision, by stage (fetch, invalid, apply).',
  sftpgo_actions_total: 'Custom action hook runs, by action and result.',
  sftpgo_actions_dropped_total: 'Custom action notifications dropped because the queue was full or on shutdown, by action.',
  sftpgo_event_rule_runs_total: 'Event rule runs, by rule, phase (sync: before the operation is answered; async: queued) and result.',
  sftpgo_event_actions_total: 'Event action runs, by action and result.',
  sftpgo_event_rule_runs_dropped_total: 'Event rule runs dropped because the queue was full or on shutdown, by rule.',
  sftpgo_emails_total: 'Emails sent through the smtp section (event actions), by result.',
};

// Counted on every transfer's end: the common cases (no labels, one, values with nothing to
// escape) skip the sort and the three replaces.
function labelKey(labels: Labels): string {
  const keys = Object.keys(labels);
  if (keys.length === 0) return '';
  if (keys.length > 1) keys.sort();
  let out = '{';
  for (let i = 0; i < keys.length; i++) out += `${i ? ',' : ''}${keys[i]}="${escapeLabel(labels[keys[i]!]!)}"`;
  return `${out}}`;
}

const NEEDS_ESCAPE = /[\\"\n]/;

function escapeLabel(v: string): string {
  if (!NEEDS_ESCAPE.test(v)) return v;
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** A value read at scrape time: a gauge, or a counter something else keeps (the process's CPU time). */
export interface Gauge {
  name: string;
  help: string;
  values: { labels: Labels; value: number }[];
  type?: 'gauge' | 'counter';
}

export class Metrics {
  readonly #counters = new Map<string, Map<string, number>>(Object.keys(SFTPGO_HELP).map((n) => [n, new Map([['', 0]])]));

  /** Adds `by` (default 1) to the counter `name` with these labels. Names should end in `_total`. */
  inc(name: string, labels: Labels = {}, by = 1): void {
    let series = this.#counters.get(name);
    if (!series) this.#counters.set(name, (series = new Map()));
    const key = labelKey(labels);
    series.set(key, (series.get(key) ?? 0) + by);
  }

  /**
   * A user login's outcome, under SFTPGo's names: the attempt, its result and the same pair for the
   * login's method family.
   */
  countLogin(method: string | undefined, ok: boolean): void {
    const family = loginFamily(method);
    const result = ok ? 'ok' : 'ko';
    this.inc('sftpgo_login_attempts_total');
    this.inc(`sftpgo_login_${result}_total`);
    this.inc(`sftpgo_${family}_login_attempts_total`);
    this.inc(`sftpgo_${family}_login_${result}_total`);
  }

  /** A transfer's end, under SFTPGo's names. */
  countTransfer(direction: 'upload' | 'download', ok: boolean, bytes: number): void {
    this.inc(ok ? `sftpgo_${direction}s_total` : `sftpgo_${direction}_errors_total`);
    if (bytes > 0) this.inc(`sftpgo_${direction}_size`, {}, bytes);
  }

  /** An SSH command's end (not scp), under SFTPGo's names. */
  countSshCommand(ok: boolean): void {
    this.inc(ok ? 'sftpgo_ssh_commands_total' : 'sftpgo_ssh_command_errors_total');
  }

  /** An API answer, under SFTPGo's names. */
  countHttpRequest(status: number): void {
    this.inc('sftpgo_http_req_total');
    if (status >= 200 && status < 300) this.inc('sftpgo_http_req_ok_total');
    else if (status >= 400 && status < 500) this.inc('sftpgo_http_client_errors_total');
    else if (status >= 500) this.inc('sftpgo_http_server_errors_total');
  }

  /** Current value of one series (tests and /status read it). */
  value(name: string, labels: Labels = {}): number {
    return this.#counters.get(name)?.get(labelKey(labels)) ?? 0;
  }

  /** The exposition text: every counter, then the given gauges. */
  render(gauges: Gauge[] = []): string {
    const lines: string[] = [];
    for (const [name, series] of [...this.#counters].sort(([a], [b]) => a.localeCompare(b))) {
      lines.push(`# HELP ${name} ${HELP[name] ?? name}`, `# TYPE ${name} counter`);
      for (const [key, v] of series) lines.push(`${name}${key} ${v}`);
    }
    for (const g of gauges) {
      lines.push(`# HELP ${g.name} ${g.help}`, `# TYPE ${g.name} ${g.type ?? 'gauge'}`);
      for (const v of g.values) lines.push(`${g.name}${labelKey(v.labels)} ${v.value}`);
    }
    return lines.join('\n') + '\n';
  }
}
