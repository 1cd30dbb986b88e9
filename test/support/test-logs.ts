// Where the servers and CLI runs that tests start leave their output: one file each under
// test-results/logs/. After the suite, scripts/leak-check.ts greps them all for the secrets of
// test/support/secrets.ts, so a secret that reaches a log or an output fails the run.
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { StringDecoder } from 'node:string_decoder';

export const LOGS_DIR = resolve(import.meta.dir, '../../test-results/logs');

/** A new file for one server or one test process's CLI runs, named after what wrote it. */
export function newLogFile(kind: string, dir = LOGS_DIR): string {
  mkdirSync(dir, { recursive: true });
  return join(dir, `${kind}-${process.pid}-${Date.now()}-${randomBytes(3).toString('hex')}.log`);
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
 * Keeps everything a child process prints (its stdout and stderr, where they are pipes) in one new
 * file, and returns its path. Each stream is written a whole line at a time, so a line of one
 * never splits a line of the other (a secret cut in two would escape the check). `dir` is for a
 * test of the check itself, whose planted secrets must not fail the suite.
 */
export function keepOutput(proc: ChildProcess, opts: { kind: string; dir?: string }): string {
  const file = newLogFile(opts.kind, opts.dir);
  for (const stream of [proc.stdout, proc.stderr]) {
    if (!stream) continue;
    const decoder = new StringDecoder('utf8');
    let partial = '';
    stream.on('data', (d: Buffer) => {
      const text = partial + decoder.write(d);
      const nl = text.lastIndexOf('\n');
      partial = text.slice(nl + 1);
      if (nl >= 0) keepLog(file, text.slice(0, nl + 1));
    });
    stream.on('end', () => {
      const rest = partial + decoder.end();
      if (rest) keepLog(file, `${rest}\n`);
    });
  }
  return file;
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
