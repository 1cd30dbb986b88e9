// Structured logging: one JSON object per line on stderr (and optionally a file), so journald,
// log shippers and fail2ban can all read the same stream. A server writes through the Log its
// context owns (core/context.ts), so two servers in one process keep their lines apart; commands
// and code that runs without a server are handed one made with createLog.
import { appendFileSync } from 'node:fs';

export type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LogSink {
  write(line: string): void;
}

export interface LogOptions {
  level?: Level;
  /** Every line is appended here too. */
  file?: string;
  /** Where lines go; stderr by default. */
  sink?: LogSink;
  /** Fields every line carries after its event (a replica's `node`). */
  fields?: Record<string, unknown>;
}

/** Writes one line: `{"time":..., "level":..., "event":..., ...fields}`. `event` is a stable name. */
export type Log = (level: Level, event: string, fields?: Record<string, unknown>) => void;

const STDERR: LogSink = { write: (line) => process.stderr.write(line) };

function envLevel(): Level {
  const l = process.env.SFTPGO_LOG_LEVEL as Level;
  return l in ORDER ? l : 'info';
}

/** A Log with its own level, file and sink. */
export function createLog(opts: LogOptions = {}): Log {
  const min = ORDER[opts.level ?? envLevel()];
  const sink = opts.sink ?? STDERR;
  const file = opts.file;
  const always = opts.fields ?? {};
  return (level, event, fields = {}) => {
    if (ORDER[level] < min) return;
    const line = JSON.stringify({ time: new Date().toISOString(), level, event, ...always, ...fields }) + '\n';
    sink.write(line);
    if (file) {
      try {
        appendFileSync(file, line);
      } catch {
        // A full or missing log disk must not stop the server; the sink still has the line.
      }
    }
  };
}
