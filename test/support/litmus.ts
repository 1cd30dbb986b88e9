// Runs Debian's litmus (0.13) WebDAV compliance suite and parses its per-group summaries.
import { spawn } from 'node:child_process';

export interface LitmusGroup {
  passed: number;
  run: number;
  failed: number;
  warnings: number;
}

export interface LitmusResult {
  groups: Record<string, LitmusGroup>;
  /** The names of failed tests, as "group/test: reason". */
  failures: string[];
  output: string;
  status: number | null;
}

/** Parses litmus output: `<- summary for `basic': of 16 tests run: 16 passed, 0 failed. 100.0%`. */
export function parseLitmus(output: string): Pick<LitmusResult, 'groups' | 'failures'> {
  const groups: Record<string, LitmusGroup> = {};
  const failures: string[] = [];
  let current = '';
  let warnings = 0;
  for (const line of output.split('\n')) {
    const start = /^-> running `([^']+)'/.exec(line);
    if (start) {
      current = start[1]!;
      warnings = 0;
      continue;
    }
    if (line.includes('WARNING:')) warnings++;
    const fail = /\d+\.\s+([A-Za-z0-9_]+)\.*\s*FAIL\s*(.*)$/.exec(line);
    if (fail) failures.push(`${current}/${fail[1]}: ${fail[2]}`);
    const sum = /^<- summary for `([^']+)': of (\d+) tests run: (\d+) passed, (\d+) failed/.exec(line);
    if (sum) groups[sum[1]!] = { run: Number(sum[2]), passed: Number(sum[3]), failed: Number(sum[4]), warnings };
  }
  return { groups, failures };
}

/** Runs the given groups with -k (keep going) in `cwd` (litmus writes debug.log and child.log there). */
export function runLitmus(url: string, user: string, password: string, groups: string[], cwd: string, timeoutMs = 180_000): Promise<LitmusResult> {
  return new Promise((resolve) => {
    const p = spawn('litmus', ['-k', url, user, password], { cwd, env: { ...process.env, TESTS: groups.join(' ') }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    p.stdout.on('data', (d) => (output += d));
    p.stderr.on('data', (d) => (output += d));
    const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('close', (status) => {
      clearTimeout(t);
      resolve({ ...parseLitmus(output), output, status });
    });
  });
}
