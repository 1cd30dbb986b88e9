// Shared pieces of the login-hook tests: hook scripts written as real shell scripts, a small real
// HTTP receiver for HTTP hooks, and logins through the real OpenSSH sftp client (sshpass) and the
// FTP control client.
import { chmodSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { FtpControl } from '../../support/ftp-client.ts';
import { run, type RunResult } from '../../support/run.ts';
import { tempDir } from '../../support/tmp.ts';

/** Writes an executable /bin/sh script and returns its absolute path. */
export function writeScript(dir: string, name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

export interface Received {
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
}

export interface Receiver {
  url: string;
  requests: Received[];
  /** Resolves with the first request (seen or future) matching `pred`. */
  waitFor(pred: (r: Received) => boolean, timeoutMs?: number): Promise<Received>;
  close(): Promise<void>;
}

/** A real node:http server answering each request with `answer` (status and JSON or text body). */
export async function startReceiver(answer: (r: Received) => { status: number; body?: unknown } | Promise<{ status: number; body?: unknown }>): Promise<Receiver> {
  const requests: Received[] = [];
  const waiters: { pred: (r: Received) => boolean; resolve: (r: Received) => void }[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const u = new URL(req.url ?? '/', 'http://x');
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        try {
          body = text ? JSON.parse(text) : undefined;
        } catch {
          // Keep the raw text.
        }
        const r: Received = { method: req.method ?? '', path: u.pathname, query: Object.fromEntries(u.searchParams), body };
        requests.push(r);
        for (const w of [...waiters]) if (w.pred(r)) (waiters.splice(waiters.indexOf(w), 1), w.resolve(r));
        const a = await answer(r);
        res.statusCode = a.status;
        if (a.body === undefined) return void res.end();
        res.setHeader('content-type', typeof a.body === 'string' ? 'text/plain' : 'application/json');
        res.end(typeof a.body === 'string' ? a.body : JSON.stringify(a.body));
      })();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    waitFor(pred, timeoutMs = 15_000) {
      const seen = requests.find(pred);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no matching request; got ${JSON.stringify(requests)}`)), timeoutMs);
        waiters.push({ pred, resolve: (r) => (clearTimeout(t), resolve(r)) });
      });
    },
    close: () => new Promise((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

const SSH_OPTS = ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-F', '/dev/null'];

/** Runs an `sftp -b` batch as `user` with a password (OpenSSH sftp through sshpass). */
export function sftpPassword(port: number, user: string, password: string, lines: string[]): Promise<RunResult> {
  const batch = join(tempDir('hooks-batch-'), 'batch');
  writeFileSync(batch, lines.join('\n') + '\n');
  return run('sshpass', [
    '-p', password, 'sftp', ...SSH_OPTS, '-o', 'BatchMode=no', '-o', 'PubkeyAuthentication=no', '-o', 'NumberOfPasswordPrompts=1',
    '-P', String(port), '-b', batch, `${user}@127.0.0.1`,
  ], { timeout: 30_000 });
}

/** Runs an `sftp -b` batch as `user` with a private key only. */
export function sftpKey(port: number, user: string, keyPath: string, lines: string[]): Promise<RunResult> {
  const batch = join(tempDir('hooks-batch-'), 'batch');
  writeFileSync(batch, lines.join('\n') + '\n');
  return run('sftp', [
    ...SSH_OPTS, '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-o', 'PasswordAuthentication=no', '-i', keyPath,
    '-P', String(port), '-b', batch, `${user}@127.0.0.1`,
  ], { timeout: 30_000 });
}

/** USER/PASS over a fresh FTP control connection: the PASS reply code (230 ok, 530 refused). */
export async function ftpLogin(port: number, user: string, password: string): Promise<number> {
  const c = await FtpControl.connect(port);
  try {
    const r = await c.login(user, password);
    return r.code;
  } finally {
    c.close();
  }
}
