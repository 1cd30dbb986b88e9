// The telemetry listener, as SFTPGo's `telemetry` section configures it, read with curl: `bind_port`
// and `bind_address` (127.0.0.1 by default), `/healthz` open, `/metrics` with SFTPGo's metric names
// and types, `auth_user_file` (htpasswd: bcrypt, $apr1$ and $1$ accepted, {SHA} refused, the file
// re-read when it changes), `certificate_file`/`certificate_key_file` with `min_tls_version`, and
// the keys refused as not supported (`enable_profiler: true`, `tls_cipher_suites`, `tls_protocols: [h2]`,
// a Unix socket path as `bind_address`).
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { runCli } from '../../support/cli.ts';
import { freePort } from '../../support/net.ts';
import { run } from '../../support/run.ts';
import { startServer, type RunningServer } from '../../support/server.ts';
import { makeSelfSignedCert } from '../../support/tls.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';
import { canLogin, sftpSession } from '../api/harness.ts';

const PASSWORD = 'tele-Secret-1';

interface Started {
  server: RunningServer;
  dir: string;
  sftpPort: number;
  apiPort: number;
  telemetryPort: number;
}

async function start(telemetry: (dir: string, port: number) => string): Promise<Started> {
  const dir = tempDir('telemetry-');
  mkdirSync(join(dir, 'home'), { recursive: true });
  const [sftpPort, apiPort, telemetryPort] = [await freePort(), await freePort(), await freePort()];
  const yaml = `sftpd:
  login_grace_time: 1
  bindings:
    - address: 127.0.0.1
      port: ${sftpPort}
httpd:
  bindings:
    - address: 127.0.0.1
      port: ${apiPort}
telemetry:
${telemetry(dir, telemetryPort)}
data_provider:
  password_hashing:
    bcrypt_options:
      cost: 4
users:
  - username: tele
    password: "${PASSWORD}"
    home_dir: ${join(dir, 'home')}
    permissions: { "/": ["*"] }
`;
  const server = await startServer({ yaml, cwd: dir });
  return { server, dir, sftpPort, apiPort, telemetryPort };
}

async function curl(url: string, ...args: string[]): Promise<{ status: number; body: string; headers: string }> {
  const r = await run('curl', ['-s', '-D', '-', '--max-time', '10', ...args, url], { timeout: 15_000 });
  const [head, ...rest] = r.stdout.split(/\r?\n\r?\n/);
  return { status: Number(/^HTTP\/[\d.]+ (\d+)/.exec(head ?? '')?.[1] ?? 0), headers: head ?? '', body: rest.join('\n\n') };
}

/** The value of an unlabelled sample, or undefined when the metric is absent. */
function sample(text: string, name: string): number | undefined {
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

afterAll(() => removeTempDirs());

describe('telemetry without auth_user_file', () => {
  let s: Started;
  beforeAll(async () => {
    // bind_address left out: loopback only.
    s = await start((_dir, port) => `  bind_port: ${port}`);
  });
  afterAll(() => s.server.stop());

  test('it listens on 127.0.0.1 by default; /healthz answers ok there and on the API listener', async () => {
    const line = await s.server.waitForLog((l) => l.event === 'telemetry_listening');
    expect(line).toMatchObject({ address: '127.0.0.1', port: s.telemetryPort, https: false, auth: false });
    const h = await curl(`http://127.0.0.1:${s.telemetryPort}/healthz`);
    expect([h.status, h.body]).toEqual([200, 'ok']);
    const api = await curl(`http://127.0.0.1:${s.apiPort}/healthz`);
    expect([api.status, api.body]).toEqual([200, 'ok']);
  });

  test('/metrics is on the telemetry listener only', async () => {
    expect((await curl(`http://127.0.0.1:${s.apiPort}/metrics`)).status).toBe(404);
    const m = await curl(`http://127.0.0.1:${s.telemetryPort}/metrics`);
    expect(m.status).toBe(200);
    expect(m.headers).toMatch(/content-type: text\/plain; version=0\.0\.4/i);
    expect((await curl(`http://127.0.0.1:${s.telemetryPort}/nothing`)).status).toBe(404);
  });

  test("logins, uploads, connections and API requests under SFTPGo's names and types", async () => {
    expect(await canLogin(s.sftpPort, 'tele', 'wrong-password')).toBe(false);
    const { client, sftp } = await sftpSession(s.sftpPort, 'tele', PASSWORD);
    const payload = Buffer.alloc(12_345, 7);
    await new Promise<void>((ok, fail) => sftp.writeFile('/up.bin', payload, (err: Error | undefined) => (err ? fail(err) : ok())));
    await curl(`http://127.0.0.1:${s.apiPort}/api/v2/users`);
    // An SSH command, and one that fails.
    for (const cmd of ['md5sum up.bin', 'sha1sum missing.bin'])
      await new Promise<void>((ok, fail) => client.exec(cmd, (err: Error | undefined, ch: any) => (err ? fail(err) : (ch.on('close', () => ok()), ch.resume(), ch.stderr.resume()))));
    // A client that connects and never logs in: SFTPGo's no_auth, not a login attempt.
    const silent = connect(s.sftpPort, '127.0.0.1');
    silent.on('error', () => {});
    await s.server.waitForLog((l) => l.event === 'login_failed' && l.reason === 'login_grace_time_exceeded', 10_000);
    silent.destroy();
    const text = (await curl(`http://127.0.0.1:${s.telemetryPort}/metrics`)).body;
    for (const [name, type] of [
      ['sftpgo_login_attempts_total', 'counter'], ['sftpgo_login_ok_total', 'counter'], ['sftpgo_login_ko_total', 'counter'],
      ['sftpgo_password_login_ok_total', 'counter'], ['sftpgo_password_login_ko_total', 'counter'],
      ['sftpgo_uploads_total', 'counter'], ['sftpgo_upload_size', 'counter'],
      ['sftpgo_http_req_total', 'counter'], ['sftpgo_http_client_errors_total', 'counter'],
      ['sftpgo_active_connections', 'gauge'], ['sftpgo_dataprovider_availability', 'gauge'],
    ])
      expect(text).toContain(`# TYPE ${name} ${type}\n`);
    expect(sample(text, 'sftpgo_login_attempts_total')).toBe(2);
    expect(sample(text, 'sftpgo_login_ok_total')).toBe(1);
    expect(sample(text, 'sftpgo_login_ko_total')).toBe(1);
    expect(sample(text, 'sftpgo_password_login_ok_total')).toBe(1);
    expect(sample(text, 'sftpgo_uploads_total')).toBe(1);
    expect(sample(text, 'sftpgo_upload_size')).toBe(12_345);
    expect(sample(text, 'sftpgo_active_connections')).toBe(1);
    expect(sample(text, 'sftpgo_dataprovider_availability')).toBe(1);
    expect(sample(text, 'sftpgo_ssh_commands_total')).toBe(1);
    expect(sample(text, 'sftpgo_ssh_command_errors_total')).toBe(1);
    expect(sample(text, 'sftpgo_no_auth_total')).toBe(1);
    // The unauthenticated API call: a 4xx.
    expect(sample(text, 'sftpgo_http_client_errors_total')).toBeGreaterThanOrEqual(1);
    // Ours beyond SFTPGo keep their labels.
    expect(text).toMatch(/^sftpgo_login_failed_total\{protocol="SSH",reason="invalid_credentials"\} 1$/m);
    expect(text).toMatch(/^sftpgo_records\{kind="users",source="config"\} 1$/m);
    expect(text).toMatch(/^sftpgo_reconcile_total\{result="ok",trigger="start"\} 1$/m);
    expect(text).not.toContain('sftpgo_api_requests_total');
    client.end();
  });
});

describe('telemetry with auth_user_file', () => {
  let s: Started;
  let file: string;
  beforeAll(async () => {
    s = await start((dir, port) => {
      file = join(dir, 'metrics.htpasswd');
      const lines = [
        '# bcrypt, Apache MD5 and MD5-crypt entries',
        execFileSync('htpasswd', ['-nbB', '-C', '4', 'prom', 'prom-pass']).toString().trim(),
        execFileSync('htpasswd', ['-nbm', 'apr', 'apr-pass']).toString().trim(),
        `md5:${execFileSync('openssl', ['passwd', '-1', 'md5-pass']).toString().trim()}`,
      ];
      writeFileSync(file, lines.join('\n') + '\n');
      return `  bind_port: ${port}\n  bind_address: 127.0.0.1\n  auth_user_file: ${file}`;
    });
  });
  afterAll(() => s.server.stop());

  test('/metrics needs one of the file\'s users; /healthz does not', async () => {
    const url = `http://127.0.0.1:${s.telemetryPort}/metrics`;
    const none = await curl(url);
    expect(none.status).toBe(401);
    expect(none.headers).toMatch(/www-authenticate: Basic realm="SFTPGo telemetry"/i);
    expect((await curl(url, '-u', 'prom:wrong')).status).toBe(401);
    expect((await curl(url, '-u', 'nobody:prom-pass')).status).toBe(401);
    for (const [user, pass] of [['prom', 'prom-pass'], ['apr', 'apr-pass'], ['md5', 'md5-pass']]) {
      const r = await curl(url, '-u', `${user}:${pass}`);
      expect(r.status).toBe(200);
      expect(r.body).toContain('# TYPE sftpgo_login_ok_total counter');
    }
    expect((await curl(`http://127.0.0.1:${s.telemetryPort}/healthz`)).status).toBe(200);
  });

  test('the file is read again when it changes', async () => {
    const url = `http://127.0.0.1:${s.telemetryPort}/metrics`;
    expect((await curl(url, '-u', 'late:late-pass')).status).toBe(401);
    writeFileSync(file, execFileSync('htpasswd', ['-nbB', '-C', '4', 'late', 'late-pass']).toString());
    expect((await curl(url, '-u', 'late:late-pass')).status).toBe(200);
    expect((await curl(url, '-u', 'prom:prom-pass')).status).toBe(401);
  });
});

describe('telemetry over HTTPS', () => {
  test('certificate_file and certificate_key_file switch to TLS; min_tls_version 13 refuses TLS 1.2; bind_address "" listens everywhere', async () => {
    const s = await start((dir, port) => {
      const { cert, key } = makeSelfSignedCert(dir, 'telemetry');
      // bind_address "": every interface; tls_protocols: ALPN http/1.1.
      return `  bind_port: ${port}\n  bind_address: ""\n  certificate_file: ${cert}\n  certificate_key_file: ${key}\n  min_tls_version: 13\n  tls_protocols: [http/1.1]`;
    });
    try {
      expect(await s.server.waitForLog((l) => l.event === 'telemetry_listening')).toMatchObject({ address: '*', https: true });
      const url = `https://127.0.0.1:${s.telemetryPort}/metrics`;
      const ok = await curl(url, '-k');
      expect(ok.status).toBe(200);
      expect(ok.body).toContain('sftpgo_active_connections 0');
      expect((await curl(url, '-k', '--tlsv1.2', '--tls-max', '1.2')).status).toBe(0);
      expect((await curl(`http://127.0.0.1:${s.telemetryPort}/metrics`)).status).not.toBe(200);
    } finally {
      await s.server.stop();
    }
  });
});

describe('refused telemetry settings', () => {
  function validate(telemetry: string): string {
    const dir = tempDir('telemetry-bad-');
    const file = join(dir, 'sftpgo.yaml');
    writeFileSync(file, `telemetry:\n${telemetry}\n`);
    const r = runCli(['validate', '--config', file, '--data-dir', join(dir, 'data')]);
    expect(r.code).not.toBe(0);
    return r.stderr + r.stdout;
  }

  test('enable_profiler, tls_cipher_suites, tls_protocols h2 and a lone certificate are refused with a reason', () => {
    expect(validate('  bind_port: 10000\n  enable_profiler: true')).toContain('telemetry.enable_profiler: not supported');
    expect(validate('  bind_port: 10000\n  tls_cipher_suites: [TLS_AES_128_GCM_SHA256]')).toContain('telemetry.tls_cipher_suites: not supported');
    expect(validate('  bind_port: 10000\n  tls_protocols: [h2]')).toContain('telemetry.tls_protocols: h2 is not supported');
    expect(validate('  bind_port: 10000\n  bind_address: /run/sftpgo/telemetry.sock')).toContain('telemetry.bind_address: Unix domain sockets are not supported');
    expect(validate('  bind_port: 10000\n  certificate_file: /x.crt')).toContain('telemetry.certificate_key_file: certificate_file and certificate_key_file go together');
  });

  test('an htpasswd file with a {SHA} entry stops serve at start, naming the line', async () => {
    const dir = tempDir('telemetry-sha-');
    const file = join(dir, 'sha.htpasswd');
    writeFileSync(file, execFileSync('htpasswd', ['-nbs', 'old', 'old-pass']).toString());
    const yaml = join(dir, 'sftpgo.yaml');
    writeFileSync(yaml, `telemetry:\n  bind_port: ${await freePort()}\n  auth_user_file: ${file}\n`);
    const r = runCli(['serve', '--config', yaml, '--data-dir', join(dir, 'data')]);
    expect(r.code).not.toBe(0);
    expect(r.stderr + r.stdout).toContain('line 1: old ({SHA})');
  });
});
