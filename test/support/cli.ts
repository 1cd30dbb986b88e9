// Runs the CLI as a real process: `bun src/main.ts ...` or a compiled binary.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { BUN, ROOT } from './server.ts';
import { keepLog, newLogFile } from './test-logs.ts';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  cwd?: string;
  /** Added to the test process's environment, or the whole environment with `bareEnv`. */
  env?: Record<string, string>;
  /** Run with `env` alone (as `env -i` would), not the test process's variables. */
  bareEnv?: boolean;
  /** Run this executable (a compiled binary or a wrapper script) instead of `bun src/main.ts`. */
  binary?: string;
  timeoutMs?: number;
}

export function runCli(args: string[], opts: CliOptions = {}): CliResult {
  const [cmd, argv] = opts.binary ? [opts.binary, args] : [BUN, [join(ROOT, 'src/main.ts'), ...args]];
  const env = opts.bareEnv ? { ...opts.env } : { ...process.env, ...opts.env };
  const r = spawnSync(cmd, argv, { cwd: opts.cwd ?? ROOT, env, encoding: 'utf8', timeout: opts.timeoutMs ?? 60_000, maxBuffer: 1 << 28 });
  // What the command printed is kept for the leak check (test/support/test-logs.ts).
  keepLog(newLogFile('cli'), `$ sftpgo ${args[0] ?? ''}\n${r.stdout ?? ''}${r.stderr ?? ''}`);
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
