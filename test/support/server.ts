// Starts the real server as a child process (`bun src/main.ts serve`, or the compiled binary) from a
// YAML config, waits for its `serve_ready` log line, and stops it with SIGTERM.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { keepOutput } from './test-logs.ts';
import { tempDir } from './tmp.ts';

export const ROOT = resolve(import.meta.dir, '../..');
export const BUN = join(ROOT, 'node_modules/.bin/bun');

export interface RunningServer {
  proc: ChildProcess;
  dir: string;
  dataDir: string;
  configPath: string;
  /** Parsed JSON log lines seen so far. */
  logs: Record<string, unknown>[];
  /** Raw stdout (where generated passwords are printed). */
  stdout: () => string;
  /** Resolves with the first log line matching `pred` (already seen or future). */
  waitForLog(pred: (l: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface StartOptions {
  /** YAML text; written to <dir>/sftpgo.yaml. Omit to use the embedded default config. */
  yaml?: string;
  env?: Record<string, string>;
  /** Run this compiled binary instead of `bun src/main.ts`. */
  binary?: string;
  /** Working directory (default: a fresh temp dir). */
  cwd?: string;
  dataDir?: string;
  extraArgs?: string[];
  /** Run exactly this argv (e.g. the server inside an image's root); yaml, binary and extraArgs are then unused. */
  command?: string[];
  timeoutMs?: number;
}

export async function startServer(opts: StartOptions = {}): Promise<RunningServer> {
  const dir = opts.cwd ?? tempDir();
  const dataDir = opts.dataDir ?? join(dir, 'data');
  const configPath = join(dir, 'sftpgo.yaml');
  if (opts.yaml !== undefined) writeFileSync(configPath, opts.yaml);
  const args = ['serve', ...(opts.yaml !== undefined ? ['--config', configPath] : []), '--data-dir', dataDir, ...(opts.extraArgs ?? [])];
  const [cmd, argv] = opts.command
    ? [opts.command[0]!, opts.command.slice(1)]
    : opts.binary
      ? [opts.binary, args]
      : [BUN, [join(ROOT, 'src/main.ts'), ...args]];
  const proc = spawn(cmd, argv, { cwd: dir, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: Record<string, unknown>[] = [];
  const waiters: { pred: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }[] = [];
  let out = '';
  let errBuf = '';
  // Everything the server prints is kept for the leak check (test/support/test-logs.ts).
  keepOutput(proc, { kind: 'server' });
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => {
    errBuf += d.toString();
    let nl: number;
    while ((nl = errBuf.indexOf('\n')) >= 0) {
      const line = errBuf.slice(0, nl);
      errBuf = errBuf.slice(nl + 1);
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(line);
      } catch {
        parsed = { event: 'raw', line };
      }
      logs.push(parsed);
      for (const w of [...waiters]) if (w.pred(parsed)) (waiters.splice(waiters.indexOf(w), 1), w.resolve(parsed));
    }
  });
  const exited = new Promise<number | null>((res) => proc.once('exit', (code) => res(code)));

  const server: RunningServer = {
    proc,
    dir,
    dataDir,
    configPath,
    logs,
    stdout: () => out,
    waitForLog(pred, timeoutMs = 20_000) {
      const seen = logs.find(pred);
      if (seen) return Promise.resolve(seen);
      return new Promise((res, rej) => {
        const timer = setTimeout(() => rej(new Error(`timed out waiting for log line; logs:\n${JSON.stringify(logs, null, 1)}`)), timeoutMs);
        const w = { pred, resolve: (l: Record<string, unknown>) => (clearTimeout(timer), res(l)) };
        waiters.push(w);
        exited.then((code) => rej(new Error(`server exited with ${code} before the expected log line; logs:\n${JSON.stringify(logs, null, 1)}\nstdout: ${out}`)));
      });
    },
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      proc.kill(signal);
      return exited;
    },
  };
  await server.waitForLog((l) => l.event === 'serve_ready', opts.timeoutMs ?? 30_000);
  return server;
}
