// `validate` needs no secrets: it checks the form of every secret reference and reads none, so
// every example validates in an empty environment; `--resolve-secrets` (what serve and plan need)
// reads them and names each one that does not resolve, with its file, line and field.
import { afterAll, describe, expect, test } from 'bun:test';
import { readdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { runCli } from '../../support/cli.ts';
import { ROOT } from '../../support/server.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';

afterAll(removeTempDirs);

/** The CLI as `env -i` runs it: not one variable set. */
function runBare(args: string[], cwd = ROOT) {
  return runCli(args, { cwd, env: {}, bareEnv: true });
}

const EXAMPLES = join(ROOT, 'examples');
// Dot-named files and folders are not configs: the gitops template's CI jobs (.gitlab-ci.yml, .github/).
const exampleFiles = (readdirSync(EXAMPLES, { recursive: true }) as string[])
  .filter((f) => /\.ya?ml$/.test(f) && !/(^|\/)\./.test(f))
  .sort()
  .map((f) => join(EXAMPLES, f));

// Line 5: an env reference nobody set; line 8: a secret file that does not exist.
const MISSING = `users:
  - username: alice
    home_dir: /srv/alice
    password:
      env: GITPLAN_NOT_SET
  - username: bob
    home_dir: /srv/bob
    password: { file: ./secrets/bob }
`;

describe('validate without secrets', () => {
  test('the examples are found', () => {
    expect(exampleFiles.map((f) => relative(ROOT, f))).toContain('examples/full.yaml');
    expect(exampleFiles.map((f) => relative(ROOT, f))).toContain('examples/gitops/sftpgo.yaml');
  });

  test.each(exampleFiles.map((f) => [relative(ROOT, f), f]))('%s validates with an empty environment', (_name, file) => {
    const r = runBare(['validate', '--config', file]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(': valid (');
  });

  test('references are checked for form, not read; --resolve-secrets reads them and names each missing one', () => {
    const dir = tempDir('validate-secrets-');
    const file = join(dir, 'sftpgo.yaml');
    writeFileSync(file, MISSING);
    expect(runBare(['validate', '--config', file]).code).toBe(0);

    const r = runBare(['validate', '--config', file, '--resolve-secrets']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${file}:5:7: users[0].password: environment variable GITPLAN_NOT_SET is not set`);
    expect(r.stderr).toContain(`${file}:8:15: users[1].password: cannot read secret file ${join(dir, 'secrets/bob')}: ENOENT`);
    expect(r.stderr).toContain('2 errors in config');

    // serve and plan resolve as before: the same file is refused, naming the same references.
    for (const cmd of ['plan', 'serve']) {
      const p = runBare([cmd, '--config', file, '--data-dir', join(dir, 'data')]);
      expect(p.code).toBe(1);
      expect(p.stderr).toContain('environment variable GITPLAN_NOT_SET is not set');
      expect(p.stderr).toContain(`cannot read secret file ${join(dir, 'secrets/bob')}`);
    }
    // With the secrets at hand, --resolve-secrets passes.
    const ok = runCli(['validate', '--config', file, '--resolve-secrets'], { env: { GITPLAN_NOT_SET: 'x' } });
    expect(ok.stderr).toContain('cannot read secret file');
    writeFileSync(join(dir, 'bob'), 'bob-Secret-1\n');
    writeFileSync(file, MISSING.replace('./secrets/bob', './bob'));
    const all = runCli(['validate', '--config', file, '--resolve-secrets'], { env: { GITPLAN_NOT_SET: 'x' } });
    expect(all.stderr).toBe('');
    expect(all.code).toBe(0);
  });

  test('a malformed reference fails validate without --resolve-secrets, at its line', () => {
    const dir = tempDir('validate-secrets-');
    const file = join(dir, 'sftpgo.yaml');
    writeFileSync(
      file,
      `users:
  - username: alice
    home_dir: /srv/alice
    password: { env: "1BAD-NAME" }
  - username: bob
    home_dir: /srv/bob
    password: { file: "  " }
`,
    );
    const r = runBare(['validate', '--config', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${file}:4:15: users[0].password: "1BAD-NAME" is not an environment variable name`);
    expect(r.stderr).toContain(`${file}:7:15: users[1].password: a secret file path must not be blank`);
    // The rest of a reference's shape is the schema's: `generate` takes only true.
    writeFileSync(file, 'users:\n  - username: carol\n    home_dir: /srv/carol\n    password: { generate: false }\n');
    const g = runBare(['validate', '--config', file]);
    expect(g.code).toBe(1);
    expect(g.stderr).toContain(`${file}:4:15: users[0].password: must be a string, { env: NAME }, { file: PATH }, { generate: true }`);
  });
});
