// Runs a real client (sftp, lftp, curl, ...) and collects its output, killing it after `timeout`.
import { spawn } from 'node:child_process';

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: string[], opts: { input?: string; timeout?: number } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => p.kill('SIGKILL'), opts.timeout ?? 60_000);
    p.on('close', (status) => (clearTimeout(t), resolve({ status, stdout, stderr })));
    p.stdin.on('error', () => undefined);
    p.stdin.end(opts.input ?? '');
  });
}
