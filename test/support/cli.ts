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

export function runCli(args: string[], opts: { cwd?: string; env?: Record<string, string>; binary?: string } = {}): CliResult {
  const [cmd, argv] = opts.binary ? [opts.binary, args] : [BUN, [join(ROOT, 'src/main.ts'), ...args]];
  const r = spawnSync(cmd, argv, { cwd: opts.cwd ?? ROOT, env: { ...process.env, ...opts.env }, encoding: 'utf8', timeout: 60_000, maxBuffer: 1 << 28 });
  // What the command printed is kept for the leak check (test/support/test-logs.ts).
  keepLog(newLogFile('cli'), `$ sftpgo ${args[0] ?? ''}\n${r.stdout ?? ''}${r.stderr ?? ''}`);
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
