// Runs a batch of OpenSSH `sftp` commands with a password (through sshpass) against a server on
// loopback, synchronously: for tests that check what the client printed and its exit status.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface SftpBatch {
  port: number;
  user: string;
  password: string;
  /** Where the batch file is written. */
  dir: string;
  lines: string[];
}

export function sftpBatchSync(b: SftpBatch): { status: number | null; stdout: string; stderr: string } {
  const batch = join(b.dir, `batch-${Date.now()}-${Math.random().toString(36).slice(2)}`);
  writeFileSync(batch, b.lines.join('\n') + '\n');
  const r = spawnSync(
    'sshpass',
    ['-p', b.password, 'sftp', '-o', 'BatchMode=no', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-P', String(b.port), '-b', batch, `${b.user}@127.0.0.1`],
    { encoding: 'utf8', timeout: 120_000 },
  );
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
