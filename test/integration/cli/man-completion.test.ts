// `sftpgo man` and `sftpgo completion SHELL` are rendered from the command table: the man page
// renders with no warnings and documents every flag every command accepts; the real bash, zsh and
// fish load the completion scripts, and bash and fish offer the commands, flags and file names.
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../../support/cli.ts';
import { BUN, ROOT } from '../../support/server.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';

afterAll(removeTempDirs);

// `sftpgo` as a shell function, so the scripts are loaded exactly as the docs say.
const SFTPGO_FN = `sftpgo() { ${JSON.stringify(BUN)} ${JSON.stringify(join(ROOT, 'src/main.ts'))} "$@"; }`;
let dir = '';
let commands: string[] = [];
/** Each command's flags, as the bash script offers them (from the commands' option tables). */
const flagsOf = new Map<string, string[]>();

beforeAll(() => {
  dir = tempDir('completion-');
  mkdirSync(join(dir, 'confs'));
  writeFileSync(join(dir, 'confs/sftpgo.yaml'), '');
  const help = runCli(['--help']).stdout;
  commands = [...help.matchAll(/^ {2}([a-z]+) {2,}/gm)].map((m) => m[1]!);
  const script = runCli(['completion', 'bash']).stdout;
  for (const name of commands) {
    const m = new RegExp(`^ {4}${name}\\)[\\s\\S]*?compgen -W "([^"]*)"`, 'm').exec(script);
    flagsOf.set(name, (m?.[1] ?? '').split(' ').filter((w) => w.startsWith('--')));
  }
});

function bash(script: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('bash', ['-c', `${SFTPGO_FN}\nsource <(sftpgo completion bash)\n${script}`], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('the man page renders with man -l and no warnings, and documents every command and flag', () => {
  expect(commands).toEqual(expect.arrayContaining(['serve', 'portable', 'ping', 'version', 'man', 'completion']));
  const page = runCli(['man']);
  expect(page.code).toBe(0);
  expect(page.stdout.startsWith('.TH SFTPGO 1 ')).toBe(true);
  const r = spawnSync('man', ['--warnings', '-l', '-'], { input: page.stdout, encoding: 'utf8', env: { ...process.env, MANWIDTH: '80', MANPAGER: 'cat', PAGER: 'cat' } });
  expect(r.status).toBe(0);
  expect(r.stderr).toBe('');
  // Plain text: no overstrike or escape sequences, and no hyphenation breaking a flag name
  const text = r.stdout.replace(/.\x08/g, '').replace(/\x1b\[[0-9;]*m/g, '').replace(/‐\n\s+/g, '');
  expect(text).toMatch(/^SFTPGO\(1\) +User Commands +SFTPGO\(1\)/);
  for (const name of commands) {
    expect(text).toMatch(new RegExp(`^ {3}${name}$`, 'm'));
    // Each flag is an entry (.TP) of its command's section, not only a word of its synopsis
    const section = page.stdout.split(`.SS "${name}"\n`)[1]!.split('\n.SS ')[0]!;
    const entries = [...section.matchAll(/^\.TP\n(.*)$/gm)].map((m) => m[1]!.replace(/\\f[BIR]|\\/g, ''));
    for (const flag of flagsOf.get(name)!)
      if (flag !== '--help') expect({ name, flag, found: entries.some((e) => e.split(/[ ,]+/).includes(flag)) }).toEqual({ name, flag, found: true });
  }
  expect(flagsOf.get('portable')).toEqual(expect.arrayContaining(['--directory', '--sftpd-port', '--public-key']));
  expect(text).toContain('--sftpd-port N');
});

test('bash: complete -p, commands, flags, files after --config and the shells of completion', () => {
  expect(bash('complete -p sftpgo').stdout).toBe('complete -o filenames -F _sftpgo sftpgo\n');
  const offer = (words: string[]) =>
    bash(`COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _sftpgo; printf '%s\\n' "\${COMPREPLY[@]}"`).stdout.trim().split('\n');
  expect(offer(['sftpgo', 'se'])).toEqual(['serve']);
  expect(offer(['sftpgo', ''])).toEqual(expect.arrayContaining(['serve', 'validate', 'portable', 'ping', 'man', 'completion', 'version']));
  expect(offer(['sftpgo', 'serve', '--c'])).toEqual(['--config']);
  expect(offer(['sftpgo', 'serve', '--config', 'confs/'])).toEqual(['confs/sftpgo.yaml']);
  expect(offer(['sftpgo', 'portable', '--directory', 'co'])).toEqual(['confs']);
  expect(offer(['sftpgo', 'portable', '--sftpd'])).toEqual(['--sftpd-port']);
  expect(offer(['sftpgo', 'completion', ''])).toEqual(expect.arrayContaining(['bash', 'zsh', 'fish']));
});

test('zsh and fish load their scripts; fish offers commands, flags with their help, and files', () => {
  const zsh = runCli(['completion', 'zsh']).stdout;
  expect(zsh.startsWith('#compdef sftpgo\n')).toBe(true);
  const zf = join(dir, '_sftpgo');
  writeFileSync(zf, zsh);
  expect(spawnSync('zsh', ['-n', zf], { encoding: 'utf8' }).status).toBe(0);
  // Loaded into an interactive-style zsh with compinit, the function is registered for sftpgo
  const z = spawnSync('zsh', ['-f', '-c', `autoload -Uz compinit && compinit -u -D && source ${zf} && print -r -- $_comps[sftpgo]`], { encoding: 'utf8', cwd: dir, env: { ...process.env, HOME: dir } });
  expect(z.stdout.trim()).toBe('_sftpgo');

  const fishScript = runCli(['completion', 'fish']).stdout;
  const ff = join(dir, 'sftpgo.fish');
  writeFileSync(ff, fishScript);
  expect(spawnSync('fish', ['-n', ff]).status).toBe(0);
  const complete = (line: string) =>
    spawnSync('fish', ['--no-config', '-c', `source ${ff}; complete -C ${JSON.stringify(line)}`], { encoding: 'utf8', cwd: dir, env: { ...process.env, HOME: dir } }).stdout.trim().split('\n');
  expect(complete('sftpgo se')).toEqual(['serve\treconcile the config into the store and serve']);
  expect(complete('sftpgo ping --t')).toEqual(['--timeout\thow long to wait for the answer (default: 5)']);
  expect(complete('sftpgo serve --config confs/')).toEqual(['confs/sftpgo.yaml']);
  expect(complete('sftpgo completion ')).toEqual(['bash', 'fish', 'zsh']);
});

test('completion names one shell', () => {
  expect(runCli(['completion']).code).toBe(2);
  const r = runCli(['completion', 'tcsh']);
  expect(r.code).toBe(2);
  expect(r.stderr).toBe('completion: name one shell: bash, zsh, fish\n');
});
