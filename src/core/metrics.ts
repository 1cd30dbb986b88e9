// One server's counters in Prometheus text form. Code that has the server's Metrics counts an event
// with `metrics.inc(name, labels)` (failed logins, transfers, bytes, reconcile results); `/metrics`
// renders them together with gauges read at scrape time (live connections, open transfers).
export type Labels = Record<string, string>;

const HELP: Record<string, string> = {
  sftpgo_login_failed_total: 'Failed logins, by protocol and reason.',
  sftpgo_transfers_total: 'Completed transfers, by protocol and direction.',
  sftpgo_transfer_bytes_total: 'Bytes transferred, by protocol and direction.',
  sftpgo_reconcile_total: 'Reconciles (startup and reloads), by result.',
  sftpgo_api_requests_total: 'REST API requests, by method and status.',
  sftpgo_actions_total: 'Custom action hook runs, by action and result.',
  sftpgo_actions_dropped_total: 'Custom action notifications dropped because the queue was full or on shutdown, by action.',
};

function labelKey(labels: Labels): string {
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return '';
  return `{${keys.map((k) => `${k}="${escapeLabel(labels[k]!)}"`).join(',')}}`;
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

export interface Gauge {
  name: string;
  help: string;
  values: { labels: Labels; value: number }[];
}

export class Metrics {
  readonly #counters = new Map<string, Map<string, number>>();

  /** Adds `by` (default 1) to the counter `name` with these labels. Names should end in `_total`. */
  inc(name: string, labels: Labels = {}, by = 1): void {
    let series = this.#counters.get(name);
    if (!series) this.#counters.set(name, (series = new Map()));
    const key = labelKey(labels);
    series.set(key, (series.get(key) ?? 0) + by);
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
      lines.push(`# HELP ${g.name} ${g.help}`, `# TYPE ${g.name} gauge`);
      for (const v of g.values) lines.push(`${g.name}${labelKey(v.labels)} ${v.value}`);
    }
    return lines.join('\n') + '\n';
  }
}
