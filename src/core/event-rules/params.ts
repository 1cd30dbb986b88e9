// What an event tells its actions: SFTPGo's event parameters and the `{{.Name}}`-style placeholders
// HTTP, command and filesystem actions write, replaced once here so every action type fills them
// the same way. Pure: no I/O.
import { posix } from 'node:path';

export interface EventParams {
  /** The user (on-demand runs: empty). */
  name: string;
  /** upload, pre-delete, ... (on-demand runs: empty). */
  event: string;
  /** 1 ok, 2 error, 3 quota exceeded. */
  status: 1 | 2 | 3;
  virtualPath: string;
  fsPath: string;
  virtualTargetPath: string;
  fsTargetPath: string;
  fileSize: number;
  /** Milliseconds the operation took (transfers). */
  elapsed: number;
  protocol: string;
  ip: string;
  role: string;
  email: string;
  /** The user's group names, for group conditions. */
  groups: string[];
  /** Epoch milliseconds of the event. */
  timestamp: number;
  /** A unique id of this run. */
  uid: string;
  /** What failed so far: the operation's error, then each failed action's (joined as {{.ErrorString}}). */
  errors: string[];
  /** Provider events: the object changed, its SFTPGo type and its JSON with secrets removed. */
  objectName?: string;
  objectType?: string;
  objectData?: string;
}

export function emptyParams(init: Partial<EventParams> = {}): EventParams {
  return {
    name: '', event: '', status: 1, virtualPath: '', fsPath: '', virtualTargetPath: '', fsTargetPath: '', fileSize: 0, elapsed: 0,
    protocol: '', ip: '', role: '', email: '', groups: [], timestamp: Date.now(), uid: '', errors: [], ...init,
  };
}

/**
 * How replaced values are written: as is, JSON-escaped (inside a JSON string of a JSON body), or
 * HTML-escaped (an HTML email body).
 */
export type Escape = 'none' | 'json' | 'html';

/** Go's html.EscapeString, as SFTPGo escapes values in an HTML body. */
const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', "'": '&#39;', '<': '&lt;', '>': '&gt;', '"': '&#34;' };

function escapeValue(v: string, escape: Escape): string {
  if (escape === 'json') return JSON.stringify(v).slice(1, -1);
  if (escape === 'html') return v.replace(/[&'<>"]/g, (ch) => HTML_ESCAPES[ch]!);
  return v;
}

const PLACEHOLDER = /\{\{\.[A-Za-z]+\}\}/g;

/** SFTPGo's `2006-01-02T15:04:05.000`, in UTC. */
function dateTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 23);
}

/** Every placeholder's value for `p` (values not escaped). A placeholder not listed is left as written. */
export function placeholderValues(p: EventParams): Map<string, string> {
  const dt = dateTime(p.timestamp);
  const objectName = p.virtualPath ? posix.basename(p.virtualPath) : '';
  const ext = posix.extname(p.virtualPath);
  const values: [string, string][] = [
    ['Name', p.name],
    ['Event', p.event],
    ['Status', String(p.status)],
    ['StatusString', p.status === 1 ? 'OK' : 'KO'],
    ['VirtualPath', p.virtualPath],
    ['EscapedVirtualPath', new URLSearchParams({ v: p.virtualPath }).toString().slice(2)],
    ['FsPath', p.fsPath],
    ['VirtualTargetPath', p.virtualTargetPath],
    ['FsTargetPath', p.fsTargetPath],
    ['ObjectName', p.objectName ?? objectName],
    ['ObjectBaseName', ext ? objectName.slice(0, -ext.length) : objectName],
    ['ObjectType', p.objectType ?? ''],
    ['Ext', ext],
    ['FileSize', String(p.fileSize)],
    ['Elapsed', String(p.elapsed)],
    ['Protocol', p.protocol],
    ['IP', p.ip],
    ['Role', p.role],
    ['Email', p.email],
    // Nanoseconds, as SFTPGo's.
    ['Timestamp', `${BigInt(p.timestamp) * 1_000_000n}`],
    ['DateTime', dt],
    ['Year', dt.slice(0, 4)],
    ['Month', dt.slice(5, 7)],
    ['Day', dt.slice(8, 10)],
    ['Hour', dt.slice(11, 13)],
    ['Minute', dt.slice(14, 16)],
    ['UID', p.uid],
    ['ErrorString', p.errors.join(', ')],
    // Only provider events have an object.
    ['ObjectData', p.objectData ?? '{}'],
    ['ObjectDataString', p.objectData ? JSON.stringify(p.objectData).slice(1, -1) : ''],
    ['Metadata', '{}'],
    ['MetadataString', ''],
  ];
  // As SFTPGo: the directory placeholders exist only when there is a path to take them from.
  if (p.virtualPath) values.push(['VirtualDirPath', posix.dirname(p.virtualPath)]);
  if (p.virtualTargetPath) values.push(['VirtualTargetDirPath', posix.dirname(p.virtualTargetPath)], ['TargetName', posix.basename(p.virtualTargetPath)]);
  return new Map(values.map(([k, v]) => [`{{.${k}}}`, v]));
}

/** Values that are JSON of their own: never escaped, so `"data": {{.ObjectData}}` stays JSON. */
const RAW_JSON: ReadonlySet<string> = new Set(['{{.ObjectData}}', '{{.Metadata}}']);

/** `template` with its placeholders replaced in one pass (a value is never read as a placeholder). */
export function fillPlaceholders(template: string, values: ReadonlyMap<string, string>, escape: Escape = 'none'): string {
  if (!template.includes('{{.')) return template;
  return template.replace(PLACEHOLDER, (ph) => {
    const v = values.get(ph);
    if (v === undefined) return ph;
    return RAW_JSON.has(ph) ? v : escapeValue(v, escape);
  });
}
