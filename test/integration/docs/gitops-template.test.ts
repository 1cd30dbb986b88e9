// The config-repository template in examples/gitops/: its CI files are valid YAML whose jobs run
// validate and a markdown plan, its sftpgo.yaml validates with no secret, and the plan job's recipe
// (the server's dump through the API, loaded into a scratch store, planned against) reports no
// change for the revision the server runs and the change a pull request makes.
import { afterAll, describe, expect, test } from 'bun:test';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { runCli } from '../../support/cli.ts';
import { freePort } from '../../support/net.ts';
import { ROOT, startServer } from '../../support/server.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';

afterAll(removeTempDirs);

const TEMPLATE = join(ROOT, 'examples/gitops');
const BCRYPT = '$2b$04$abcdefghijklmnopqrstuu5Wq3FjkTAXAJm4wXfNO4L3kE1CyO9Cm';
const SECRETS = { ARCHIVE_S3_SECRET: 'archive-secret', ALICE_PASSWORD_HASH: BCRYPT };
const API_KEY = 'ci-plan-key-0123456789abcdef';

type Doc = Record<string, unknown>;
const load = (file: string) => parse(readFileSync(join(TEMPLATE, file), 'utf8')) as Doc;

/** Every shell line a job runs, in order, as the CI would (GitHub `run`, GitLab `before_script` + `script`). */
function githubCommands(job: Doc): string[] {
  const steps = job.steps as Doc[];
  for (const step of steps) expect(typeof step.run === 'string' || typeof step.uses === 'string').toBe(true);
  return steps.flatMap((s) => (typeof s.run === 'string' ? [s.run] : []));
}
function gitlabCommands(ci: Doc, job: Doc): string[] {
  const before = ((job.before_script ?? (ci.default as Doc).before_script) as unknown[]) ?? [];
  const lines = [...before, ...(job.script as unknown[])];
  // A `key: value` inside an unquoted line makes YAML read a mapping, which GitLab rejects.
  for (const line of lines) expect(typeof line).toBe('string');
  return lines as string[];
}

describe('the CI files', () => {
  test('GitHub Actions: validate on every change, a markdown plan commented on pull requests', () => {
    const wf = load('.github/workflows/sftpgo.yml');
    expect(Object.keys(wf.on as Doc).sort()).toEqual(['pull_request', 'push']);
    const jobs = wf.jobs as Record<string, Doc>;
    const validate = githubCommands(jobs.validate!).join('\n');
    expect(validate).toContain('sha256sum -c');
    expect(validate).toMatch(/^sftpgo validate -c sftpgo\.yaml$/m);
    const plan = githubCommands(jobs.plan!).join('\n');
    expect(jobs.plan!.needs).toBe('validate');
    expect(jobs.plan!.if).toContain('pull_request');
    expect(plan).toMatch(/sftpgo plan -c sftpgo\.yaml .*--output markdown --detailed-exitcode/);
    expect(plan).toContain('/api/v2/dumpdata');
    expect(plan).toMatch(/gh pr comment .*--body-file plan\.md/);
    expect((wf.permissions as Doc)['pull-requests']).toBe('write');
  });

  test('GitLab CI: the same jobs, the plan posted as a merge request note', () => {
    const ci = load('.gitlab-ci.yml');
    const validate = gitlabCommands(ci, ci.validate as Doc);
    expect(validate).toContain('sftpgo validate -c sftpgo.yaml');
    expect(validate.join('\n')).toContain('sha256sum -c');
    const planJob = ci.plan as Doc;
    expect(JSON.stringify(planJob.rules)).toContain('merge_request_event');
    const plan = gitlabCommands(ci, planJob).join('\n');
    expect(plan).toMatch(/sftpgo plan -c sftpgo\.yaml .*--output markdown --detailed-exitcode/);
    expect(plan).toContain('/merge_requests/${CI_MERGE_REQUEST_IID}/notes');
    expect(plan).toContain('--data-urlencode "body@plan.md"');
  });

  test('every shell line of both files parses as sh', () => {
    const wf = load('.github/workflows/sftpgo.yml');
    const ci = load('.gitlab-ci.yml');
    const scripts = [
      ...Object.values(wf.jobs as Record<string, Doc>).flatMap(githubCommands),
      [...gitlabCommands(ci, ci.validate as Doc), ...gitlabCommands(ci, ci.plan as Doc)].join('\n'),
    ];
    for (const script of scripts) {
      const r = spawnSync('sh', ['-n'], { input: script, encoding: 'utf8' });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
    }
  });
});

describe('sftpgo.yaml', () => {
  test('validates with its secrets set', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'sftpgo.yaml'), readFileSync(join(TEMPLATE, 'sftpgo.yaml')));
    mkdirSync(join(dir, 'secrets'));
    writeFileSync(join(dir, 'secrets/ci-api-key'), API_KEY);
    const r = runCli(['validate', '-c', join(dir, 'sftpgo.yaml')], { env: SECRETS });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('valid (2 users');
  });

  test('validates, assertions included, and explains with an empty environment, as in CI', () => {
    const bare = (args: string[]) => runCli([...args, '-c', 'examples/gitops/sftpgo.yaml'], { cwd: ROOT, env: { PATH: process.env.PATH! }, bareEnv: true });
    const r = bare(['validate']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('5 assertions hold');
    const e = bare(['explain', 'alice', '/inbox/setup.exe', 'upload']);
    expect(e.stderr).toBe('');
    expect(e.stdout).toStartWith('denied: alice upload /inbox/setup.exe');
    expect(e.stdout).toMatch(/sftpgo\.yaml:\d+:\d+ groups\[0\]\.user_settings\.filters\.file_patterns\[0\]\.denied_patterns\[0\]/);
  });

  test("the plan job's recipe: the server's dump in a scratch store plans no change, then the pull request's", async () => {
    const dir = tempDir();
    const [sftpPort, apiPort] = [await freePort(), await freePort()];
    const yaml = readFileSync(join(TEMPLATE, 'sftpgo.yaml'), 'utf8')
      .replace('port: 2022', `port: ${sftpPort}`)
      .replace('port: 8080', `port: ${apiPort}`)
      .replaceAll('/srv/', `${dir}/srv/`);
    expect(yaml).toContain(`port: ${apiPort}`);
    mkdirSync(join(dir, 'secrets'));
    writeFileSync(join(dir, 'secrets/ci-api-key'), API_KEY);
    const server = await startServer({ cwd: dir, yaml, env: SECRETS });
    const dump = join(dir, 'state.json');
    try {
      const curl = spawnSync('curl', ['-fsS', '-H', `X-SFTPGO-API-KEY: ${API_KEY}`, `http://127.0.0.1:${apiPort}/api/v2/dumpdata`, '-o', dump], { encoding: 'utf8' });
      expect(curl.stderr).toBe('');
      expect(curl.status).toBe(0);
    } finally {
      await server.stop();
    }
    const state = join(dir, 'state');
    const loaded = runCli(['loaddata', '--input', dump, '--data-dir', state]);
    expect(loaded.stdout).toContain('loaded 2 users, 2 folders, 1 groups, 1 admins');
    const config = join(dir, 'sftpgo.yaml');
    // The job's command: exit 0 without a change, 2 with changes.
    const planArgs = ['plan', '-c', config, '--data-dir', state, '--output', 'markdown', '--detailed-exitcode'];
    const same = runCli(planArgs, { env: SECRETS });
    expect(same.stderr).toBe('');
    expect(same.code).toBe(0);

    // A pull request adding a user: the plan shows it and nothing else, and no secret.
    writeFileSync(config, `${yaml}\n`.replace('\nadmins:', `  - username: carol\n    public_keys: ["${bobKey(yaml)}"]\n    groups: [{ name: staff, type: 1 }]\n\nadmins:`));
    const changed = runCli(planArgs, { env: SECRETS });
    expect(changed.code).toBe(2);
    expect(changed.stdout).toContain('carol');
    expect(changed.stdout).not.toContain('alice');
    for (const secret of [...Object.values(SECRETS), API_KEY]) expect(changed.stdout).not.toContain(secret);
  }, 60_000);
});

function bobKey(yaml: string): string {
  const key = /ssh-ed25519 \S+/.exec(yaml)?.[0];
  if (!key) throw new Error('the template has no ssh-ed25519 key');
  return key;
}
