// scripts/leak-check.ts, the step after the suite: a test secret in any kept log is reported with
// its file and line (and not printed itself), and fails the check; clean logs pass.
import { afterAll, expect, test } from 'bun:test';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUN, ROOT } from '../../support/server.ts';
import { TEST_SECRETS } from '../../support/secrets.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';

afterAll(() => removeTempDirs());

function check(dir: string): { status: number | null; out: string } {
  const r = spawnSync(BUN, [join(ROOT, 'scripts/leak-check.ts'), dir], { encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
}

test('clean logs pass', () => {
  const dir = tempDir('leak-clean-');
  writeFileSync(join(dir, 'server-1.log'), '{"event":"login_failed","username":"alice"}\n');
  const r = check(dir);
  expect(r.status).toBe(0);
  expect(r.out).toContain('leak check: 1 log files, 0 secrets found');
});

test('a secret in a log fails the check with its file and line, without printing the secret', () => {
  const dir = tempDir('leak-hit-');
  writeFileSync(join(dir, 'server-2.log'), `{"event":"serve_ready"}\n{"event":"oops","password":"${TEST_SECRETS.userPassword}"}\n`);
  const r = check(dir);
  expect(r.status).toBe(1);
  expect(r.out).toContain(`${join(dir, 'server-2.log')}:2: the test secret userPassword appears`);
  expect(r.out).not.toContain(TEST_SECRETS.userPassword);
});
