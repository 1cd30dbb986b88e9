// `sftpgo ping` asks the server its config describes: telemetry /healthz first, then the REST API's
// /healthz, then the SSH identification, then the FTP greeting; exit 0 when it answered, 1 when not.
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../../support/cli.ts';
import { freePort } from '../../support/net.ts';
import { startServer, type RunningServer } from '../../support/server.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';

let server: RunningServer;
let dir = '';
const ports = { sftp: 0, ftp: 0, passive: 0, api: 0, telemetry: 0 };
const section = {
  telemetry: () => `telemetry:\n  bind_port: ${ports.telemetry}\n  bind_address: 127.0.0.1\n`,
  httpd: () => `httpd:\n  bindings: [{ address: 127.0.0.1, port: ${ports.api} }]\n`,
  sftpd: () => `sftpd:\n  bindings: [{ address: 127.0.0.1, port: ${ports.sftp} }]\n`,
  ftpd: () => `ftpd:\n  passive_port_range: { start: ${ports.passive}, end: ${ports.passive} }\n  bindings: [{ address: 127.0.0.1, port: ${ports.ftp} }]\n`,
};

/** Writes a config naming only `parts` of the running server's listeners and pings with it. */
function pingWith(name: string, parts: (keyof typeof section)[], extra: string[] = []) {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, parts.map((p) => section[p]()).join(''));
  return runCli(['ping', '--config', file, ...extra], { cwd: dir });
}

beforeAll(async () => {
  for (const k of Object.keys(ports) as (keyof typeof ports)[]) ports[k] = await freePort();
  dir = tempDir('ping-');
  server = await startServer({ yaml: Object.values(section).map((s) => s()).join(''), cwd: dir });
}, 60_000);

afterAll(async () => {
  await server?.stop();
  removeTempDirs();
});

test('each listener kind, in order of preference, answers a running server', () => {
  const cases: [string, (keyof typeof section)[], RegExp][] = [
    ['all', ['telemetry', 'httpd', 'sftpd', 'ftpd'], new RegExp(`^healthy: telemetry http://127\\.0\\.0\\.1:${ports.telemetry}/healthz: HTTP 200\\n$`)],
    ['api', ['httpd', 'sftpd', 'ftpd'], new RegExp(`^healthy: httpd http://127\\.0\\.0\\.1:${ports.api}/healthz: HTTP 200\\n$`)],
    ['ssh', ['sftpd', 'ftpd'], new RegExp(`^healthy: sftpd 127\\.0\\.0\\.1:${ports.sftp}: SSH identification "SSH-2\\.0-SFTPGo`)],
    ['ftp', ['ftpd'], new RegExp(`^healthy: ftpd 127\\.0\\.0\\.1:${ports.ftp}: FTP greeting "220`)],
  ];
  for (const [name, parts, line] of cases) {
    const r = pingWith(name, parts);
    expect({ name, code: r.code, stdout: r.stdout }).toEqual({ name, code: 0, stdout: expect.stringMatching(line) });
  }
});

test('a listener that answers something else is unhealthy after --timeout', () => {
  // The SSH probe pointed at the HTTP listener: no identification line ever comes.
  const file = join(dir, 'wrong.yaml');
  writeFileSync(file, `sftpd:\n  bindings: [{ address: 127.0.0.1, port: ${ports.api} }]\n`);
  const started = Date.now();
  const r = runCli(['ping', '--config', file, '--timeout', '1'], { cwd: dir });
  expect(r.code).toBe(1);
  expect(r.stdout).toBe(`unhealthy: sftpd 127.0.0.1:${ports.api}: no SSH identification within 1 s\n`);
  expect(Date.now() - started).toBeLessThan(10_000);
});

test('bad flags and a config with nothing to check', () => {
  expect(runCli(['ping', '--timeout', 'soon'], { cwd: dir }).code).toBe(2);
  const file = join(dir, 'empty.yaml');
  writeFileSync(file, 'data_provider:\n  data_dir: ./data\n');
  const r = runCli(['ping', '--config', file], { cwd: dir });
  expect(r.code).toBe(1);
  expect(r.stdout).toContain('configures no telemetry, httpd, sftpd or ftpd listener');
});

test('SFTPGO_CONFIG is read as serve reads it, and a stopped server is unhealthy', async () => {
  const file = join(dir, 'env.yaml');
  writeFileSync(file, section.sftpd());
  expect(runCli(['ping'], { cwd: dir, env: { SFTPGO_CONFIG: file } }).code).toBe(0);
  expect(await server.stop()).toBe(0);
  for (const [name, parts] of [['all', ['telemetry']], ['api', ['httpd']], ['ssh', ['sftpd']], ['ftp', ['ftpd']]] as [string, (keyof typeof section)[]][]) {
    const r = pingWith(`${name}-stopped`, parts);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^unhealthy: \w+ .*ECONNREFUSED/);
  }
});
