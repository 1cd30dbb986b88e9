// Email from event rules, to real SMTP servers (smtp-server) started here: an SFTP upload emails
// its file as an attachment with the placeholders filled (HTML-escaped in an HTML body); a password
// expiration check emails the users whose password expires within the threshold (the built-in
// body, then a template from smtp.templates_path); the smtp section speaks plain, STARTTLS and
// implicit TLS with PLAIN, LOGIN and CRAM-MD5 (switched by reload); and a receiver that is down or
// refuses the login fails the action, is logged and counted, and runs the rule's failure action.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../support/net.ts';
import { SmtpReceiver } from '../../support/smtp-receiver.ts';
import { makeSelfSignedCert } from '../../support/tls.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';
import { api, davPut, metrics, Receiver, sftp, startEventServer, type EventServer } from './harness.ts';

const SMTP_USER = 'mailer@example.com';
const SMTP_PASSWORD = 'mail-Secret-1';

let s: EventServer;
let hooks: Receiver;
let plain: SmtpReceiver;
let starttls: SmtpReceiver;
let implicit: SmtpReceiver;
let reloads = 0;

function smtpBlock(settings: string): string {
  return `smtp:\n${settings.trim().split('\n').map((l) => `  ${l.trim()}`).join('\n')}\n`;
}

const PLAIN_SMTP = () => `host: 127.0.0.1
port: ${plain.port}
from: "SFTPGo <sftpgo@example.com>"
user: ${SMTP_USER}
password: { env: SMTP_PASSWORD }
auth_type: 0
encryption: 0
domain: sftp.example.com
templates_path: mail-templates
debug: 1`;

/** Rewrites the smtp section and reloads; resolves once the reload is applied. */
async function reloadSmtp(settings: string): Promise<void> {
  const yaml = readFileSync(s.server.configPath, 'utf8').replace(/^smtp:\n(?: {2}.*\n)+/m, smtpBlock(settings));
  writeFileSync(s.server.configPath, yaml);
  const seen = s.server.logs.filter((l) => l.event === 'reload_applied').length;
  s.server.proc.kill('SIGHUP');
  reloads++;
  await s.server.waitForLog(() => s.server.logs.filter((l) => l.event === 'reload_applied').length > seen);
}

beforeAll(async () => {
  const certDir = tempDir('smtp-tls-');
  const tls = makeSelfSignedCert(certDir, 'smtp', 'localhost');
  plain = await SmtpReceiver.start({ mode: 'plain', auth: { user: SMTP_USER, pass: SMTP_PASSWORD, methods: ['PLAIN'] } });
  starttls = await SmtpReceiver.start({ mode: 'starttls', tls, auth: { user: SMTP_USER, pass: SMTP_PASSWORD, methods: ['LOGIN'] } });
  implicit = await SmtpReceiver.start({ mode: 'implicit', tls, auth: { user: SMTP_USER, pass: SMTP_PASSWORD, methods: ['CRAM-MD5'] } });
  hooks = await Receiver.start();
  const yaml = `${smtpBlock(PLAIN_SMTP())}event_actions:
  - name: mail-upload
    type: 3
    options:
      email_config:
        recipients: [ops@example.com, "{{.Email}}"]
        bcc: [audit@example.com]
        subject: "Upload {{.ObjectName}} by {{.Name}}"
        body: "{{.Name}} uploaded {{.VirtualPath}} ({{.FileSize}} bytes) over {{.Protocol}}"
        attachments: ["{{.VirtualPath}}"]
  - name: mail-html
    type: 3
    options:
      email_config:
        recipients: [ops@example.com]
        subject: "HTML {{.ObjectName}}"
        body: "<p>New file: <b>{{.ObjectName}}</b></p>"
        content_type: 1
  - name: mail-ping
    type: 3
    options:
      email_config:
        recipients: [ops@example.com]
        subject: ping
        body: a test message
  - name: report-failure
    type: 1
    options:
      http_config:
        endpoint: ${hooks.base}/failed
        body: "{{.ErrorString}}"
        timeout: 10
  - name: pwd-check
    type: 11
    options:
      pwd_expiration_config: { threshold: 10 }
event_rules:
  - name: uploads-by-mail
    trigger: 1
    conditions:
      fs_events: [upload]
      options:
        fs_paths: [{ pattern: "/mail/*" }]
    actions: [{ name: mail-upload }]
  - name: html-mail
    trigger: 1
    conditions:
      fs_events: [upload]
      options:
        fs_paths: [{ pattern: "/html/*" }]
    actions: [{ name: mail-html }]
  - name: ping
    trigger: 6
    actions:
      - { name: mail-ping, order: 1 }
      - { name: report-failure, order: 2, relation_options: { is_failure_action: true } }
  - name: passwords
    trigger: 6
    conditions:
      options:
        names: [{ pattern: "pw-*" }]
    actions: [{ name: pwd-check }]
`;
  s = await startEventServer(yaml, {
    env: { NODE_EXTRA_CA_CERTS: tls.cert, SMTP_PASSWORD },
    extraUsers: (dir) => `  - username: pw-soon
    password: "pw-Secret-1"
    email: soon@example.com
    home_dir: ${join(dir, 'homes/pw-soon')}
    filters: { password_expiration: 3 }
  - username: pw-later
    password: "pw-Secret-1"
    email: later@example.com
    home_dir: ${join(dir, 'homes/pw-later')}
    filters: { password_expiration: 60 }
  - username: pw-never
    password: "pw-Secret-1"
    email: never@example.com
    home_dir: ${join(dir, 'homes/pw-never')}
`,
  });
  for (const d of ['mail', 'html']) mkdirSync(join(s.home, d), { recursive: true });
  // alice's email for {{.Email}}: set through the API, as an override of the config's user.
  const r = await api(s, 'PUT', '/api/v2/users/alice', { ...(await api(s, 'GET', '/api/v2/users/alice')).json, email: 'alice@example.com' });
  expect(r.status).toBe(200);
});

afterAll(async () => {
  await s?.server.stop();
  await Promise.all([plain?.stop(), starttls?.stop(), implicit?.stop(), hooks?.stop()]);
  removeTempDirs();
});

describe('an email action on uploads', () => {
  test('an SFTP upload sends its file as an attachment, every field filled, through PLAIN auth', async () => {
    const data = randomBytes(300 * 1024);
    writeFileSync(join(s.local, 'report.bin'), data);
    expect((await sftp(s, [`put ${join(s.local, 'report.bin')} /mail/report.bin`])).status).toBe(0);
    const m = await plain.waitFor((x) => x.subject === 'Upload report.bin by alice');
    expect(m.rcpt.sort()).toEqual(['alice@example.com', 'audit@example.com', 'ops@example.com']);
    expect(m.headers.get('to')).toContain('ops@example.com');
    expect(m.headers.has('bcc')).toBe(false);
    expect(m.headers.get('from')).toBe('SFTPGo <sftpgo@example.com>');
    expect(m.from).toBe('sftpgo@example.com');
    expect(m.text?.trim()).toBe(`alice uploaded /mail/report.bin (${data.length} bytes) over SFTP`);
    expect(m.attachments).toHaveLength(1);
    expect(m.attachments[0]!.filename).toBe('report.bin');
    expect(Buffer.compare(m.attachments[0]!.content, data)).toBe(0);
    expect(m.user).toBe(SMTP_USER);
    expect(m.secure).toBe(false);
    expect(m.helo).toBe('sftp.example.com');
    const sent = await s.server.waitForLog((l) => l.event === 'email_sent' && l.subject === 'Upload report.bin by alice');
    expect(sent.attachments).toEqual(['report.bin']);
    // debug: 1 logs the conversation, never the password.
    await s.server.waitForLog((l) => l.event === 'smtp_debug');
    expect(s.server.logs.filter((l) => l.event === 'smtp_debug').some((l) => String(l.message).includes(SMTP_PASSWORD))).toBe(false);
    expect(s.server.logs.filter((l) => l.event === 'smtp_debug').some((l) => String(l.message).includes(Buffer.from(`\0${SMTP_USER}\0${SMTP_PASSWORD}`).toString('base64')))).toBe(false);
  });

  test('in an HTML body the values are HTML-escaped', async () => {
    writeFileSync(join(s.local, 'h.txt'), 'x');
    expect(await davPut(s, join(s.local, 'h.txt'), '/html/a%3Cb%3E%26%22.txt')).toBe(201);
    const m = await plain.waitFor((x) => x.subject === 'HTML a<b>&".txt');
    expect(m.html?.trimEnd()).toBe('<p>New file: <b>a&lt;b&gt;&amp;&#34;.txt</b></p>');
    expect(m.text).toBeUndefined();
  });

  test('attachments over 10 MiB in all are refused: the action fails and nothing is sent', async () => {
    writeFileSync(join(s.local, 'big.bin'), Buffer.alloc(10 * 1024 * 1024 + 1));
    const before = plain.messages.length;
    expect((await sftp(s, [`put ${join(s.local, 'big.bin')} /mail/big.bin`])).status).toBe(0);
    const line = await s.server.waitForLog((l) => l.event === 'event_rule_run' && l.rule === 'uploads-by-mail' && l.virtual_path === '/mail/big.bin');
    expect(line.result).toBe('failed');
    expect(String((line.actions as { error: string }[])[0]!.error)).toContain('size too large');
    expect(plain.messages.length).toBe(before);
  });
});

describe('the REST API', () => {
  test("an email action's GET, sent back with PUT, is accepted unchanged", async () => {
    const got = await api(s, 'GET', '/api/v2/eventactions/mail-upload');
    expect(got.status).toBe(200);
    expect(got.json.options.email_config).toEqual({
      recipients: ['ops@example.com', '{{.Email}}'], bcc: ['audit@example.com'], subject: 'Upload {{.ObjectName}} by {{.Name}}',
      body: '{{.Name}} uploaded {{.VirtualPath}} ({{.FileSize}} bytes) over {{.Protocol}}', attachments: ['{{.VirtualPath}}'],
    });
    const put = await api(s, 'PUT', '/api/v2/eventactions/mail-upload', got.json);
    expect(put.status).toBe(200);
    expect((await api(s, 'GET', '/api/v2/eventactions/mail-upload')).json.options).toEqual(got.json.options);
  });
});

describe('the password expiration check (type 11)', () => {
  test('emails the users whose password expires within the threshold, with the built-in body', async () => {
    expect((await api(s, 'POST', '/api/v2/eventrules/run/passwords')).status).toBe(202);
    const m = await plain.waitFor((x) => x.rcpt.includes('soon@example.com'));
    expect(m.subject).toBe('SFTPGo password expiration notification');
    expect(m.html).toContain('Hi pw-soon,');
    expect(m.html).toContain('your SFTPGo password expires in 3 days.');
    const line = await s.server.waitForLog((l) => l.event === 'event_rule_run' && l.rule === 'passwords');
    expect(line.result).toBe('ok');
    // pw-later expires in 60 days, pw-never never: no email for them, none for alice (not matched).
    expect(plain.messages.filter((x) => x.subject === 'SFTPGo password expiration notification').flatMap((x) => x.rcpt)).toEqual(['soon@example.com']);
  });

  test('smtp.templates_path: email/password-expiration.html replaces the body, {{.Username}} and {{.Days}} filled', async () => {
    mkdirSync(join(s.dir, 'mail-templates/email'), { recursive: true });
    writeFileSync(join(s.dir, 'mail-templates/email/password-expiration.html'), '<p>Dear {{.Username}}, {{.Days}} days left.</p>');
    const before = plain.messages.length;
    expect((await api(s, 'POST', '/api/v2/eventrules/run/passwords')).status).toBe(202);
    const m = await plain.waitFor((x) => plain.messages.indexOf(x) >= before && x.rcpt.includes('soon@example.com'));
    expect(m.html?.trimEnd()).toBe('<p>Dear pw-soon, 3 days left.</p>');
  });
});

describe('the smtp section', () => {
  test('encryption 2 (STARTTLS) with LOGIN auth: the message goes over TLS', async () => {
    await reloadSmtp(`host: localhost\nport: ${starttls.port}\nfrom: sftpgo@example.com\nuser: ${SMTP_USER}\npassword: ${SMTP_PASSWORD}\nauth_type: 1\nencryption: 2`);
    expect((await api(s, 'POST', '/api/v2/eventrules/run/ping')).status).toBe(202);
    const m = await starttls.waitFor((x) => x.subject === 'ping');
    expect(m.secure).toBe(true);
    expect(m.user).toBe(SMTP_USER);
    expect(m.text?.trim()).toBe('a test message');
    // Without a domain the client introduces itself as localhost.
    expect(m.helo).toBe('localhost');
  });

  test('encryption 1 (implicit TLS) with CRAM-MD5 auth, the password read from a file next to the config', async () => {
    writeFileSync(join(s.dir, 'smtp-password'), `${SMTP_PASSWORD}\n`);
    await reloadSmtp(`host: localhost\nport: ${implicit.port}\nuser: ${SMTP_USER}\npassword: { file: smtp-password }\nauth_type: 2\nencryption: 1`);
    expect((await api(s, 'POST', '/api/v2/eventrules/run/ping')).status).toBe(202);
    const m = await implicit.waitFor((x) => x.subject === 'ping');
    expect(m.secure).toBe(true);
    expect(m.user).toBe(SMTP_USER);
    // No from: the user is the sender, as SFTPGo.
    expect(m.from).toBe(SMTP_USER);
  });

  test('encryption 2 against a server offering no STARTTLS fails rather than sending in clear', async () => {
    await reloadSmtp(`host: 127.0.0.1\nport: ${plain.port}\nfrom: sftpgo@example.com\nuser: ${SMTP_USER}\npassword: ${SMTP_PASSWORD}\nencryption: 2`);
    const before = plain.messages.length;
    const failuresBefore = hooks.requests.length;
    expect((await api(s, 'POST', '/api/v2/eventrules/run/ping')).status).toBe(202);
    const r = await hooks.waitFor((q) => hooks.requests.indexOf(q) >= failuresBefore && q.url === '/failed');
    expect(r.body).toMatch(/STARTTLS/i);
    expect(plain.messages.length).toBe(before);
  });
});

describe('SMTP failures', () => {
  test('a receiver that is down: the action fails, email_failed is logged and counted, the failure action runs', async () => {
    const dead = await freePort();
    await reloadSmtp(`host: 127.0.0.1\nport: ${dead}\nfrom: sftpgo@example.com`);
    const before = hooks.requests.length;
    expect((await api(s, 'POST', '/api/v2/eventrules/run/ping')).status).toBe(202);
    const failed = await hooks.waitFor((q) => hooks.requests.indexOf(q) >= before && q.url === '/failed');
    expect(failed.body).toContain('action "mail-ping" failed: unable to send email');
    expect(failed.body).toMatch(/ECONNREFUSED|refused/i);
    const line = await s.server.waitForLog((l) => l.event === 'email_failed' && l.server === `127.0.0.1:${dead}`);
    expect(line.subject).toBe('ping');
    const run = await s.server.waitForLog((l) => l.event === 'event_rule_run' && l.rule === 'ping' && l.result === 'failed');
    expect((run.actions as { name: string; result: string }[]).map((a) => [a.name, a.result])).toEqual([['mail-ping', 'failed'], ['report-failure', 'ok']]);
    expect(await metrics(s)).toMatch(/^sftpgo_emails_total\{result="failed"\} [1-9]/m);
    expect(await metrics(s)).toMatch(/^sftpgo_emails_total\{result="ok"\} [1-9]/m);
  });

  test('a login the server refuses: the action fails with its answer, the failure action runs', async () => {
    await reloadSmtp(`host: 127.0.0.1\nport: ${plain.port}\nfrom: sftpgo@example.com\nuser: ${SMTP_USER}\npassword: wrong-password`);
    const before = hooks.requests.length;
    const refusedBefore = plain.authFailures;
    expect((await api(s, 'POST', '/api/v2/eventrules/run/ping')).status).toBe(202);
    const failed = await hooks.waitFor((q) => hooks.requests.indexOf(q) >= before && q.url === '/failed');
    expect(failed.body).toMatch(/Invalid username or password|535/);
    expect(plain.authFailures).toBeGreaterThan(refusedBefore);
    await s.server.waitForLog((l) => l.event === 'email_failed' && String(l.error).includes('535'));
  });

  test('without smtp.host the action fails saying so', async () => {
    await reloadSmtp(`host: ""\nport: 25`);
    const before = hooks.requests.length;
    expect((await api(s, 'POST', '/api/v2/eventrules/run/ping')).status).toBe(202);
    const failed = await hooks.waitFor((q) => hooks.requests.indexOf(q) >= before && q.url === '/failed');
    expect(failed.body).toContain('smtp is not configured');
    expect(reloads).toBeGreaterThan(0);
  });
});
