// Structured logging: one JSON object per line on stderr (and optionally a file), so journald,
// log shippers and fail2ban can all read the same stream.
import { appendFileSync } from 'node:fs';

export type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LogSink {
  write(line: string): void;
}

let minLevel: Level = (process.env.SFTPGO_LOG_LEVEL as Level) in ORDER ? (process.env.SFTPGO_LOG_LEVEL as Level) : 'info';
let filePath: string | undefined;
let sink: LogSink = { write: (line) => process.stderr.write(line) };

export function configureLog(opts: { level?: Level; file?: string; sink?: LogSink }): void {
  if (opts.level) minLevel = opts.level;
  filePath = opts.file;
  if (opts.sink) sink = opts.sink;
}

/** Writes one line: `{"time":..., "level":..., "event":..., ...fields}`. `event` is a stable name. */
export function log(level: Level, event: string, fields: Record<string, unknown> = {}): void {
  if (ORDER[level] < ORDER[minLevel]) return;
  const line = JSON.stringify({ time: new Date().toISOString(), level, event, ...fields }) + '\n';
  sink.write(line);
  if (filePath) {
    try {
      appendFileSync(filePath, line);
    } catch {
      // A full or missing log disk must not stop the server; stderr still has the line.
    }
  }
}
