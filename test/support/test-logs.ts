// Where the servers and CLI runs that tests start leave their output: one file each under
// test-results/logs/. After the suite, scripts/leak-check.ts greps them all for the secrets of
// test/support/secrets.ts, so a secret that reaches a log or an output fails the run.
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const LOGS_DIR = resolve(import.meta.dir, '../../test-results/logs');

/** A new file for one server or one test process's CLI runs, named after what wrote it. */
export function newLogFile(kind: string): string {
  mkdirSync(LOGS_DIR, { recursive: true });
  return join(LOGS_DIR, `${kind}-${process.pid}-${Date.now()}-${randomBytes(3).toString('hex')}.log`);
}

/** Appends output to a log file; a failure to keep it never fails the test itself. */
export function keepLog(file: string, text: string | Buffer): void {
  try {
    appendFileSync(file, text);
  } catch {
    // The leak check then has less to read; the test goes on.
  }
}

/**
 * A log sink for a server started in the test process: each line goes to its own file under
 * test-results/logs, then to `onLine` (parsed) when the test reads its log.
 */
export function keptSink(kind: string, onLine?: (line: Record<string, unknown>) => void): { write(line: string): void } {
  const file = newLogFile(kind);
  return {
    write(line) {
      keepLog(file, line.endsWith('\n') ? line : `${line}\n`);
      onLine?.(JSON.parse(line) as Record<string, unknown>);
    },
  };
}
