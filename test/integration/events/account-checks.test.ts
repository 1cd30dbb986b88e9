// The account checks of on-demand rules, on a real server: the user expiration check (type 12)
// fails naming the expired users it matched and its failure action gets them; the inactivity check
// (type 14) disables users idle past disable_threshold (they can no longer log in over SFTP),
// deletes already disabled users idle past delete_threshold (never one the YAML declares), leaves
// recent ones alone, and reports each user it acted on in {{.ErrorString}}.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { hashPassword } from '../../../src/auth/passwords.ts';
import { run } from '../../support/run.ts';
import { removeTempDirs } from '../../support/tmp.ts';
import { writeFileSync } from 'node:fs';
import { api, PASSWORD, Receiver, sftp, startEventServer, type EventServer } from './harness.ts';

const DAY = 24 * 60 * 60 * 1000;
let s: EventServer;
let hooks: Receiver;

beforeAll(async () => {
  hooks = await Receiver.start();
  const yaml = `event_actions:
  - name: expired
    type: 12
  - name: inactive
    type: 14
    options:
      user_inactivity_config: { disable_threshold: 30, delete_threshold: 90 }
  - name: report
    type: 1
    options:
      http_config:
        endpoint: ${hooks.base}/report
        body: "{{.ErrorString}}"
        timeout: 10
event_rules:
  - name: expirations
    trigger: 6
    conditions:
      options:
        names: [{ pattern: "exp-*" }]
    actions:
      - { name: expired, order: 1 }
      - { name: report, order: 2, relation_options: { is_failure_action: true } }
  - name: inactivity
    trigger: 6
    conditions:
      options:
        names: [{ pattern: "idle-*" }]
    actions:
      - { name: inactive, order: 1 }
      - { name: report, order: 2, relation_options: { is_failure_action: true } }
  - name: self-check
    trigger: 1
    conditions:
      fs_events: [upload]
      options:
        fs_paths: [{ pattern: "/check/*" }]
    actions:
      - { name: expired, order: 1 }
      - { name: inactive, order: 2 }
  - name: nobody
    trigger: 6
    conditions:
      options:
        names: [{ pattern: "no-such-user-*" }]
    actions: [{ name: expired }]
`;
  s = await startEventServer(yaml, {
    extraUsers: (dir) => `  - username: exp-past
    password: "x-Secret-1"
    home_dir: ${join(dir, 'homes/exp-past')}
    expiration_date: ${Date.now() - DAY}
  - username: exp-future
    password: "x-Secret-1"
    home_dir: ${join(dir, 'homes/exp-future')}
    expiration_date: ${Date.now() + 10 * DAY}
  - username: exp-never
    password: "x-Secret-1"
    home_dir: ${join(dir, 'homes/exp-never')}
  - username: idle-declared
    password: "x-Secret-1"
    status: 0
    home_dir: ${join(dir, 'homes/idle-declared')}
`,
  });
  // Last logins come from an SFTPGo backup, as a migrated server would have them.
  const hash = await hashPassword(PASSWORD, { bcryptCost: 4 });
  const user = (username: string, status: number, daysAgo: number) => ({
    username, password: hash, status, home_dir: join(s.dir, 'homes', username), permissions: { '/': ['*'] }, last_login: Date.now() - daysAgo * DAY,
  });
  const r = await api(s, 'POST', '/api/v2/loaddata?from=sftpgo', {
    version: 16,
    users: [user('idle-40', 1, 40), user('idle-100-active', 1, 100), user('idle-100-disabled', 0, 100), user('idle-5', 1, 5)],
  });
  expect(r.status).toBe(200);
});

afterAll(async () => {
  await s?.server.stop();
  await hooks?.stop();
  removeTempDirs();
});

const sshOpts = ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', 'PubkeyAuthentication=no', '-F', '/dev/null'];

/** An OpenSSH sftp login with a password (sshpass), listing the root. */
function sftpLogin(user: string) {
  return run('sshpass', ['-p', PASSWORD, 'sftp', ...sshOpts, '-P', String(s.ports.sftp), `${user}@127.0.0.1`], { input: 'ls\n' });
}

describe('the user expiration check (type 12)', () => {
  test('fails naming the expired users the rule matched; the failure action gets them', async () => {
    expect((await api(s, 'POST', '/api/v2/eventrules/run/expirations')).status).toBe(202);
    const r = await hooks.waitFor((q) => q.url === '/report' && q.body.includes('expired users'));
    expect(r.body).toBe('action "expired" failed: expired users: exp-past');
    const line = await s.server.waitForLog((l) => l.event === 'event_rule_run' && l.rule === 'expirations');
    expect(line.result).toBe('failed');
  });

  test('a rule matching no user fails: nothing was checked', async () => {
    expect((await api(s, 'POST', '/api/v2/eventrules/run/nobody')).status).toBe(202);
    const line = await s.server.waitForLog((l) => l.event === 'event_rule_run' && l.rule === 'nobody');
    expect(String((line.actions as { error: string }[])[0]!.error)).toContain('no user expiration check executed');
  });
});

describe('on a filesystem event', () => {
  test("the checks act on the event's user only: alice is neither expired nor idle, and no idle user is touched", async () => {
    writeFileSync(join(s.local, 'c.txt'), 'c');
    expect((await sftp(s, ['mkdir /check', `put ${join(s.local, 'c.txt')} /check/c.txt`])).status).toBe(0);
    const line = await s.server.waitForLog((l) => l.event === 'event_rule_run' && l.rule === 'self-check');
    expect(line.result).toBe('ok');
    expect((line.actions as { name: string; result: string }[]).map((a) => [a.name, a.result])).toEqual([['expired', 'ok'], ['inactive', 'ok']]);
    expect((await api(s, 'GET', '/api/v2/users/idle-100-disabled')).status).toBe(200);
  });
});

describe('the inactivity check (type 14)', () => {
  test('before: every idle user logs in over SFTP', async () => {
    expect((await sftpLogin('idle-40')).status).toBe(0);
  });

  test('disables users idle past 30 days, deletes disabled ones idle past 90, leaves recent ones; each named in {{.ErrorString}}', async () => {
    // The login above made idle-40 recent again: put its backup's last login back.
    const dump = (await api(s, 'GET', '/api/v2/dumpdata')).json;
    const lastLogins = { ...dump.last_logins, 'user:idle-40': Date.now() - 40 * DAY, 'user:idle-declared': Date.now() - 100 * DAY };
    expect((await api(s, 'POST', '/api/v2/loaddata', { ...dump, last_logins: lastLogins })).status).toBe(200);
    expect((await api(s, 'POST', '/api/v2/eventrules/run/inactivity')).status).toBe(202);
    const r = await hooks.waitFor((q) => q.url === '/report' && q.body.includes('inactivity'));
    expect(r.body).toContain('action "inactive" failed: executed inactivity check actions for users: ');
    expect(r.body).toContain('inactive user "idle-40" disabled. Number of days of inactivity: 40');
    expect(r.body).toContain('inactive user "idle-100-active" disabled. Number of days of inactivity: 100');
    expect(r.body).toContain('inactive user "idle-100-disabled" deleted. Number of days of inactivity: 100');
    expect(r.body).not.toContain('idle-5');
    // A user the YAML declares is not deleted behind its back: the action says so.
    expect(r.body).toContain('unable to act on inactive user "idle-declared": it is declared in the config file: remove it there');
    expect((await api(s, 'GET', '/api/v2/users/idle-declared')).status).toBe(200);

    expect((await api(s, 'GET', '/api/v2/users/idle-40')).json.status).toBe(0);
    expect((await api(s, 'GET', '/api/v2/users/idle-100-active')).json.status).toBe(0);
    expect((await api(s, 'GET', '/api/v2/users/idle-100-disabled')).status).toBe(404);
    expect((await api(s, 'GET', '/api/v2/users/idle-5')).json.status).toBe(1);
  });

  test('a disabled user can no longer log in; a recent one still can', async () => {
    const refused = await sftpLogin('idle-40');
    expect(refused.status).not.toBe(0);
    expect((await sftpLogin('idle-5')).status).toBe(0);
  });
});
