// The shipped examples stay valid: they are what newcomers copy.
import { afterAll, expect, test } from 'bun:test';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfigFile, parseConfigText, formatIssue } from '../../../src/config/load.ts';
import { NO_SECRETS } from '../../../src/config/sealed.ts';
import { Explainer, formatFailure } from '../../../src/reconcile/explain.ts';
import { DEFAULT_CONFIG_YAML } from '../../../src/config/default.ts';
import { ROOT } from '../../support/server.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';

afterAll(removeTempDirs);

function check(text: string, name: string): string[] {
  const r = parseConfigText(text, name, ROOT);
  return r.ok ? [] : r.issues.map(formatIssue);
}

test('examples/quickstart.yaml is valid', () => {
  process.env.ALICE_PASSWORD = 'example';
  expect(check(readFileSync(join(ROOT, 'examples/quickstart.yaml'), 'utf8'), 'quickstart.yaml')).toEqual([]);
});

test('examples/full.yaml is valid once its secrets exist', () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'alice'), 'alice-password\n');
  process.env.ARCHIVE_S3_SECRET = 'a';
  process.env.BOB_S3_SECRET = 'b';
  process.env.VAULT_PASSPHRASE = 'v';
  process.env.CAROL_PASSWORD = 'c';
  process.env.SMTP_PASSWORD = 's';
  const text = readFileSync(join(ROOT, 'examples/full.yaml'), 'utf8').replace('/run/secrets/alice', join(dir, 'alice'));
  expect(check(text, 'full.yaml')).toEqual([]);
});

test("examples/full.yaml's access assertions hold", async () => {
  const dir = tempDir();
  const file = join(dir, 'full.yaml');
  writeFileSync(file, readFileSync(join(ROOT, 'examples/full.yaml'), 'utf8').replace('/run/secrets/alice', join(dir, 'alice')));
  writeFileSync(join(dir, 'alice'), 'alice-password\n');
  process.env.SMTP_PASSWORD = 's';
  const loaded = loadConfigFile(file);
  if (!loaded.ok) throw new Error(loaded.issues.map(formatIssue).join('\n'));
  expect(loaded.value.config.assertions?.length).toBeGreaterThan(3);
  const failures = await new Explainer({ loaded: loaded.value, dataDir: join(dir, 'data'), secrets: NO_SECRETS }).failedAssertions();
  expect(failures.map(formatFailure)).toEqual([]);
});

test('the embedded default config is valid', () => {
  expect(check(DEFAULT_CONFIG_YAML, 'default')).toEqual([]);
});

test('every example names the schema for editor completion', () => {
  for (const f of ['quickstart.yaml', 'full.yaml'])
    expect(readFileSync(join(ROOT, 'examples', f), 'utf8')).toStartWith('# yaml-language-server: $schema=../sftpgo.schema.json');
});

test('examples/hooks.yaml is valid', () => {
  process.env.BACKUP_PASSWORD = 'example';
  expect(check(readFileSync(join(ROOT, 'examples/hooks.yaml'), 'utf8'), 'hooks.yaml')).toEqual([]);
});
