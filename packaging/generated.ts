// The files every package carries that the binary prints itself: the man page (`sftpgo man`) and
// the shell completions (`sftpgo completion bash|zsh|fish`), written under one directory in the
// layout packages install them (man/man1, completions/). A binary without such a command yet is
// skipped with a notice; a binary that has it and fails, or prints nothing, fails the package.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

interface Generated {
  /** Path under the target dir. */
  path: string;
  args: string[];
}

const GENERATED: Generated[] = [
  { path: 'man/man1/sftpgo.1', args: ['man'] },
  { path: 'completions/sftpgo.bash', args: ['completion', 'bash'] },
  { path: 'completions/_sftpgo', args: ['completion', 'zsh'] },
  { path: 'completions/sftpgo.fish', args: ['completion', 'fish'] },
];

/** Writes what `binary` (runnable here) can print into `dir`; returns the paths written, relative to `dir`. */
export function writeGeneratedFiles(opts: { binary: string; dir: string }): string[] {
  const written: string[] = [];
  for (const g of GENERATED) {
    const r = spawnSync(opts.binary, g.args, { encoding: 'utf8', timeout: 60_000 });
    if (r.error !== undefined) throw new Error(`running ${opts.binary} ${g.args.join(' ')}: ${r.error.message}`);
    if (r.status === 2 && r.stderr.startsWith(`unknown command "${g.args[0]}"`)) {
      console.log(`notice: this sftpgo has no "${g.args[0]}" command yet; ${g.path} is left out`);
      continue;
    }
    if (r.status !== 0) throw new Error(`sftpgo ${g.args.join(' ')} failed (exit ${r.status ?? r.signal}): ${r.stderr}`);
    if (r.stdout.trim() === '') throw new Error(`sftpgo ${g.args.join(' ')} printed nothing`);
    mkdirSync(dirname(join(opts.dir, g.path)), { recursive: true });
    writeFileSync(join(opts.dir, g.path), r.stdout);
    written.push(g.path);
  }
  return written;
}
