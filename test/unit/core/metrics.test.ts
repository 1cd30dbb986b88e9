// SFTPGo's metric names: the login families a method label maps to, the counters present from the
// start, and the HTTP status classes.
import { describe, expect, test } from 'bun:test';
import { loginFamily, Metrics } from '../../../src/core/metrics.ts';

describe("SFTPGo's metrics", () => {
  test('a login method label maps to SFTPGo\'s family', () => {
    expect(loginFamily('password')).toBe('password');
    expect(loginFamily('password+totp')).toBe('password');
    expect(loginFamily('publickey')).toBe('public_key');
    expect(loginFamily('keyboard-interactive')).toBe('keyboard_interactive');
    expect(loginFamily('publickey+password')).toBe('key_and_password');
    expect(loginFamily('publickey+keyboard-interactive')).toBe('key_and_keyboard_int');
    expect(loginFamily('TLSCertificate')).toBe('tls_cert');
    expect(loginFamily('TLSCertificate+password')).toBe('tls_cert_and_pwd');
    expect(loginFamily(undefined)).toBe('password');
  });

  test('the counters are there at 0 before anything happened, unlabelled', () => {
    const text = new Metrics().render();
    for (const name of ['sftpgo_login_attempts_total', 'sftpgo_login_ok_total', 'sftpgo_login_ko_total', 'sftpgo_public_key_login_ko_total', 'sftpgo_uploads_total', 'sftpgo_download_size', 'sftpgo_http_req_total'])
      expect(text).toContain(`# TYPE ${name} counter\n${name} 0\n`);
    expect(text).not.toContain('sftpgo_login_failed_total');
  });

  test('countLogin, countTransfer and countHttpRequest feed the right series', () => {
    const m = new Metrics();
    m.countLogin('publickey', true);
    m.countLogin('publickey+password', false);
    m.countTransfer('download', true, 10);
    m.countTransfer('download', false, 5);
    m.countTransfer('upload', false, 0);
    for (const status of [200, 204, 401, 404, 500, 302]) m.countHttpRequest(status);
    expect([m.value('sftpgo_login_attempts_total'), m.value('sftpgo_login_ok_total'), m.value('sftpgo_login_ko_total')]).toEqual([2, 1, 1]);
    expect([m.value('sftpgo_public_key_login_ok_total'), m.value('sftpgo_key_and_password_login_ko_total'), m.value('sftpgo_password_login_attempts_total')]).toEqual([1, 1, 0]);
    expect([m.value('sftpgo_downloads_total'), m.value('sftpgo_download_errors_total'), m.value('sftpgo_download_size'), m.value('sftpgo_upload_errors_total'), m.value('sftpgo_upload_size')]).toEqual([1, 1, 15, 1, 0]);
    expect([m.value('sftpgo_http_req_total'), m.value('sftpgo_http_req_ok_total'), m.value('sftpgo_http_client_errors_total'), m.value('sftpgo_http_server_errors_total')]).toEqual([6, 2, 2, 1]);
  });

  test('labels render sorted and escaped, and the same labels in any order count as one series', () => {
    const m = new Metrics();
    m.inc('sftpgo_transfers_total', { protocol: 'SFTP', direction: 'upload', result: 'ok' });
    m.inc('sftpgo_transfers_total', { result: 'ok', direction: 'upload', protocol: 'SFTP' }, 2);
    m.inc('sftpgo_actions_total', { action: 'a"b\\c\nd' });
    expect(m.value('sftpgo_transfers_total', { direction: 'upload', protocol: 'SFTP', result: 'ok' })).toBe(3);
    const text = m.render();
    expect(text).toContain('sftpgo_transfers_total{direction="upload",protocol="SFTP",result="ok"} 3\n');
    expect(text).toContain('sftpgo_actions_total{action="a\\"b\\\\c\\nd"} 1\n');
  });
});
