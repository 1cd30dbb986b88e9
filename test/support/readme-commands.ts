// Runs the commands the README shows for one of its sections, as a reader would type them: the
// first ```sh block below the heading, run with `sh -e` in a given directory. Tests that follow
// the README this way fail when the README stops working.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './server.ts';
import { keepLog, newLogFile } from './test-logs.ts';

/** The first ```sh block of the section under `heading` (e.g. "### Release archive"). */
export function readmeCommands(heading: string, readme = join(ROOT, 'README.md')): string {
  const lines = readFileSync(readme, 'utf8').split('\n');
  const start = lines.indexOf(heading);
  if (start < 0) throw new Error(`README has no heading "${heading}"`);
  const level = heading.indexOf(' ');
  let block: string[] | undefined;
  for (const line of lines.slice(start + 1)) {
    const m = /^(#+) /.exec(line);
    if (block === undefined && m !== null && m[1]!.length <= level) break;
    if (block === undefined) {
      if (line === '```sh') block = [];
    } else if (line === '```') {
      return block.join('\n') + '\n';
    } else block.push(line);
  }
  throw new Error(`README section "${heading}" has no complete \`\`\`sh block`);
}

export interface ReadmeRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the section's commands with `sh -e` (stopping at the first that fails) in `cwd`. */
export function runReadmeCommands(opts: { heading: string; cwd: string; env?: Record<string, string>; timeoutMs?: number }): ReadmeRun {
  const r = spawnSync('sh', ['-e', '-c', readmeCommands(opts.heading)], {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 120_000,
  });
  // What the commands printed (the CLI's among them) is kept for the leak check (test-logs.ts).
  keepLog(newLogFile('readme'), `$ ${opts.heading}\n${r.stdout ?? ''}${r.stderr ?? ''}`);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
