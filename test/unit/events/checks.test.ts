// The pure parts of email, multipart, compress and the account checks: HTML escaping of
// placeholders, SFTPGo's day counts for password expiry and inactivity, the built-in password
// expiration body, the archive's base directory, and the config checks of the new action types and
// of the smtp section.
import { describe, expect, test } from 'bun:test';
import { parseConfigText } from '../../../src/config/load.ts';
import { archiveBaseDir } from '../../../src/core/event-rules/compress.ts';
import { emptyParams, fillPlaceholders, placeholderValues } from '../../../src/core/event-rules/params.ts';
import { inactivityDays, passwordExpirationBody, passwordExpiresInDays } from '../../../src/core/event-rules/user-checks.ts';

const DAY = 24 * 60 * 60 * 1000;

function problems(yaml: string): string[] {
  const r = parseConfigText(yaml, '/tmp/sftpgo.yaml', '/tmp');
  return r.ok ? [] : r.issues.map((i) => `${i.path}: ${i.message}`);
}

describe('placeholders in an HTML body', () => {
  test("values are escaped as Go's html.EscapeString; JSON objects are not", () => {
    const v = placeholderValues(emptyParams({ name: `o'neil`, virtualPath: '/in/<a href="x">&.txt' }));
    expect(fillPlaceholders('<p>{{.Name}} {{.ObjectName}}</p>', v, 'html')).toBe('<p>o&#39;neil &lt;a href=&#34;x&#34;&gt;&amp;.txt</p>');
    expect(fillPlaceholders('{{.ObjectData}}', v, 'html')).toBe('{}');
    expect(fillPlaceholders('{{.Name}}', v)).toBe(`o'neil`);
  });
});

describe('day counts', () => {
  const now = Date.UTC(2026, 5, 1, 12);

  test('password expiry: rounded days left, at least 1 before it expires, negative after; undefined when it never expires', () => {
    const u = (changedDaysAgo: number, days: number) => ({ filters: { password_expiration: days }, last_password_change: now - changedDaysAgo * DAY, updated_at: 0 });
    expect(passwordExpiresInDays(u(27, 30), now)).toBe(3);
    expect(passwordExpiresInDays({ ...u(0, 1), last_password_change: now - DAY + 60_000 }, now)).toBe(1);
    expect(passwordExpiresInDays(u(40, 30), now)).toBe(-10);
    expect(passwordExpiresInDays(u(10, 0), now)).toBeUndefined();
    expect(passwordExpiresInDays({ filters: {}, updated_at: now }, now)).toBeUndefined();
    // A record from before last_password_change existed counts from its last update.
    expect(passwordExpiresInDays({ filters: { password_expiration: 5 }, updated_at: now - 2 * DAY }, now)).toBe(3);
  });

  test('inactivity: whole days since the last login, or since creation for a user who never logged in', () => {
    expect(inactivityDays(now - 40 * DAY - 5000, now - 400 * DAY, now)).toBe(40);
    expect(inactivityDays(0, now - 12.9 * DAY, now)).toBe(12);
    expect(inactivityDays(0, 0, now)).toBe(0);
  });
});

describe('password expiration body', () => {
  test("SFTPGo's wording: days, day, has expired; the username escaped", () => {
    expect(passwordExpirationBody('bob', 3)).toContain('your SFTPGo password expires in 3 days.');
    expect(passwordExpirationBody('bob', 1)).toContain('your SFTPGo password expires in 1 day.');
    expect(passwordExpirationBody('bob', -2)).toContain('your SFTPGo password has expired.');
    expect(passwordExpirationBody('<b>', 3)).toContain('Hi &#60;b&#62;,');
    expect(passwordExpirationBody('bob', 4, '{{.Username}}: {{.Days}}')).toBe('bob: 4');
  });
});

describe('compress', () => {
  test("the archive's base directory is the one parent every path shares, else the root", () => {
    expect(archiveBaseDir(['/docs/a.txt', '/docs/sub'])).toBe('/docs');
    expect(archiveBaseDir(['/docs', '/in/x.txt'])).toBe('/');
    expect(archiveBaseDir(['/x'])).toBe('/');
  });
});

describe('config checks of the new action types', () => {
  const act = (body: string) => problems(`event_actions:\n  - name: a\n${body}`);

  test('email: recipients, subject and body required; an attachment named twice refused', () => {
    expect(act(`    type: 3\n    options:\n      email_config: { recipients: [a@example.com] }\n`).join('\n')).toContain('event_actions[0].options.email_config');
    expect(act(`    type: 3\n    options:\n      email_config: { recipients: [a@example.com], subject: s, body: b, attachments: [/a.txt, "/a.txt/"] }\n`)).toEqual([
      'event_actions[0].options.email_config.attachments[1]: "/a.txt/" is attached twice',
    ]);
    expect(act(`    type: 3\n    options:\n      email_config: { recipients: [a@example.com], subject: s, body: b, content_type: 1 }\n`)).toEqual([]);
    expect(act(`    type: 3\n    options:\n      email_config: { recipients: [a@example.com], subject: s, body: b, attachments: ["{{RetentionReports}}"] }\n`)).toEqual([
      'event_actions[0].options.email_config.attachments[0]: data retention reports ({{RetentionReports}}) are not supported yet: the data retention check writes its report to the log',
    ]);
  });

  test('inactivity: one threshold at least, delete after disable', () => {
    expect(act(`    type: 14\n    options:\n      user_inactivity_config: {}\n`)).toEqual(['event_actions[0].options.user_inactivity_config: at least one of disable_threshold and delete_threshold is required']);
    expect(act(`    type: 14\n    options:\n      user_inactivity_config: { disable_threshold: 30, delete_threshold: 30 }\n`)).toEqual([
      'event_actions[0].options.user_inactivity_config.delete_threshold: must be greater than disable_threshold (30)',
    ]);
    expect(act(`    type: 14\n    options:\n      user_inactivity_config: { delete_threshold: 90 }\n`)).toEqual([]);
  });

  test('password expiration needs a threshold of a day at least; user expiration takes no options', () => {
    expect(act(`    type: 11\n    options:\n      pwd_expiration_config: { threshold: 0 }\n`).join('\n')).toContain('pwd_expiration_config.threshold');
    expect(act(`    type: 12\n`)).toEqual([]);
    expect(act(`    type: 12\n    options:\n      pwd_expiration_config: { threshold: 3 }\n`)).toEqual(['event_actions[0].options.pwd_expiration_config: applies to type 11 actions only; a type 12 action takes no options']);
  });

  test('multipart parts: a file or a body each; no body, Content-Type or repeated file beside them', () => {
    const http = (extra: string) => act(`    type: 1\n    options:\n      http_config:\n        endpoint: http://127.0.0.1/x\n${extra}`);
    expect(http(`        parts: [{ name: f, filepath: /a }, { name: g, filepath: /a/ }, { name: t }]\n        body: b\n        headers: [{ key: content-type, value: text/plain }]\n`)).toEqual([
      'event_actions[0].options.http_config.parts[1].filepath: "/a/" is already a part',
      'event_actions[0].options.http_config.parts[2]: a part needs a body when it has no filepath',
      'event_actions[0].options.http_config.body: a multipart request has no body: it is built from parts',
      'event_actions[0].options.http_config.headers[0]: the Content-Type of a multipart request is set by the server',
    ]);
    expect(http(`        parts: [{ name: f, filepath: /a, body: x }]\n`)).toEqual(['event_actions[0].options.http_config.parts[0].body: a part is a file (filepath) or a text (body), not both']);
  });

  test('compress: an archive and paths, not the root, never itself; its block only on type 5', () => {
    const fs = (body: string) => act(`    type: 9\n    options:\n      fs_config:\n${body}`);
    expect(fs(`        type: 5\n`)).toEqual([
      'event_actions[0].options.fs_config.compress: compress.name (the archive) is required for fs_config type 5',
      'event_actions[0].options.fs_config.compress: at least one path to compress is required for fs_config type 5',
    ]);
    expect(fs(`        type: 5\n        compress: { name: /, paths: [/a] }\n`)).toEqual(['event_actions[0].options.fs_config.compress.name: the archive cannot be the root directory']);
    expect(fs(`        type: 5\n        compress: { name: /z.zip, paths: [/a, /z.zip] }\n`)).toEqual(['event_actions[0].options.fs_config.compress.paths[1]: the archive cannot compress itself']);
    expect(fs(`        type: 2\n        deletes: [/a]\n        compress: { name: /z.zip, paths: [/a] }\n`)).toEqual(['event_actions[0].options.fs_config.compress: applies to fs_config type 5 only; this one is type 2']);
  });

  test('an on-demand rule cannot run an action that sends files of the event user', () => {
    expect(problems(`event_actions:
  - name: mail
    type: 3
    options:
      email_config: { recipients: [a@example.com], subject: s, body: b, attachments: ["{{.VirtualPath}}"] }
event_rules:
  - name: now
    trigger: 6
    actions: [{ name: mail }]
`)).toEqual(['event_rules[0].actions[0].name: event action "mail" sends files of the event\'s user, and a trigger 6 rule has no user']);
  });
});

describe('the smtp section', () => {
  test('from or user is required with a host; OAuth2 is refused with the reason; auth_type 3 is not accepted', () => {
    expect(problems(`smtp: { host: mail.example.com }\n`)).toEqual(['smtp.from: from and user cannot both be empty when host is set']);
    expect(problems(`smtp: { host: mail.example.com, user: me@example.com }\n`)).toEqual([]);
    expect(problems(`smtp: { host: "" }\n`)).toEqual([]);
    expect(problems(`smtp: { host: mail.example.com, from: a@example.com, oauth2: { provider: 0 } }\n`)).toEqual([
      'smtp.oauth2: not supported: OAuth2 SMTP authentication (auth_type 3) is not supported; use auth_type 0 (PLAIN), 1 (LOGIN) or 2 (CRAM-MD5)',
    ]);
    expect(problems(`smtp: { host: mail.example.com, from: a@example.com, auth_type: 3 }\n`)).toHaveLength(1);
  });
});
