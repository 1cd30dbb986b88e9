// The man page and completions step of packaging: a binary without the command is skipped, one
// with it must succeed and print something. The "binaries" are small sh scripts answering as the
// CLI does (exit 2 and `unknown command "x"` for a command it lacks).
import { afterAll, expect, test } from 'bun:test';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeGeneratedFiles } from '../../../packaging/generated.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';

afterAll(removeTempDirs);

function fakeBinary(body: string): string {
  const file = join(tempDir('sftpgo-fake-'), 'sftpgo');
  writeFileSync(file, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return file;
}

test('a binary without man and completion commands gives no files, with a notice', () => {
  const dir = tempDir();
  const binary = fakeBinary('printf \'unknown command "%s"\\n\\nUsage: sftpgo <command>\\n\' "$1" >&2; exit 2');
  expect(writeGeneratedFiles({ binary, dir })).toEqual([]);
  expect(existsSync(join(dir, 'man'))).toBe(false);
});

test('a binary with the commands gives the man page and one completion file per shell', () => {
  const dir = tempDir();
  const binary = fakeBinary('case "$1" in man) echo ".TH SFTPGO 1";; completion) echo "# $2 completion";; *) exit 2;; esac');
  expect(writeGeneratedFiles({ binary, dir })).toEqual(['man/man1/sftpgo.1', 'completions/sftpgo.bash', 'completions/_sftpgo', 'completions/sftpgo.fish']);
  expect(readFileSync(join(dir, 'man/man1/sftpgo.1'), 'utf8')).toBe('.TH SFTPGO 1\n');
  expect(readFileSync(join(dir, 'completions/_sftpgo'), 'utf8')).toBe('# zsh completion\n');
});

test('a command that exists but fails, or prints nothing, fails the package', () => {
  const failing = fakeBinary('case "$1" in man) echo "man: broken" >&2; exit 1;; *) exit 2;; esac');
  expect(() => writeGeneratedFiles({ binary: failing, dir: tempDir() })).toThrow('sftpgo man failed (exit 1): man: broken');
  const silent = fakeBinary('case "$1" in man) exit 0;; *) echo "unknown command \\"$1\\"" >&2; exit 2;; esac');
  expect(() => writeGeneratedFiles({ binary: silent, dir: tempDir() })).toThrow('sftpgo man printed nothing');
});
