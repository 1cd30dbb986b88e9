// Live connections (list and kill), quotas, reload, status, metrics, health and the OpenAPI document.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { writeFileSync } from 'node:fs';
import { call, readdir, sftpSession, startApiWithToken, stopApi, USER_PASSWORD, type Api } from './harness.ts';

let api: Api;
let t: string;
beforeAll(async () => ({ api, token: t } = await startApiWithToken()));
afterAll(() => stopApi(api));

describe('connections', () => {
  test('a live SFTP session is listed, and DELETE drops it', async () => {
    writeFileSync(`${api.home}/hello.txt`, 'hi');
    const { client, sftp } = await sftpSession(api.sftpPort, 'alice', USER_PASSWORD);
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    expect(await readdir(sftp, '/')).toContain('hello.txt');
    const list = await call(api, 'GET', '/api/v2/connections', { token: t });
    expect(list.status).toBe(200);
    const conn = list.json.find((c: any) => c.username === 'alice');
    expect(conn).toMatchObject({ username: 'alice', remote_address: expect.stringContaining('127.0.0.1'), active_transfers: [] });
    expect(conn.connection_id).toMatch(/^[0-9a-f]{16}$/);
    expect(conn.client_version).toStartWith('SSH-2.0-');
    expect(['SSH', 'SFTP']).toContain(conn.protocol);
    expect(conn.connection_time).toBeLessThanOrEqual(Date.now());

    const metrics = await (await fetch(`http://127.0.0.1:${api.telemetryPort}/metrics`)).text();
    expect(metrics).toMatch(/sftpgo_connections\{protocol="(SSH|SFTP)"\} 1/);
    expect(metrics).toMatch(/^sftpgo_active_connections 1$/m);

    const del = await call(api, 'DELETE', `/api/v2/connections/${conn.connection_id}`, { token: t });
    expect(del.status).toBe(200);
    await closed;
    expect((await call(api, 'GET', '/api/v2/connections', { token: t })).json).toEqual([]);
    expect((await call(api, 'DELETE', `/api/v2/connections/${conn.connection_id}`, { token: t })).status).toBe(404);
  });
});

describe('quotas', () => {
  test('GET usage; PUT reset and add', async () => {
    const g = await call(api, 'GET', '/api/v2/quotas/users/alice/usage', { token: t });
    expect(g.status).toBe(200);
    expect(g.json.username).toBe('alice');
    let r = await call(api, 'PUT', '/api/v2/quotas/users/alice/usage?mode=reset', { token: t, body: { used_quota_size: 100, used_quota_files: 2 } });
    expect(r.json).toEqual({ message: 'Quota updated' });
    expect((await call(api, 'GET', '/api/v2/quotas/users/alice/usage', { token: t })).json).toMatchObject({ used_quota_size: 100, used_quota_files: 2 });
    r = await call(api, 'PUT', '/api/v2/quotas/users/alice/usage?mode=add', { token: t, body: { used_quota_size: 50, used_quota_files: 1 } });
    expect(r.status).toBe(200);
    expect((await call(api, 'GET', '/api/v2/users/alice', { token: t })).json.used_quota_size).toBe(150);
    r = await call(api, 'PUT', '/api/v2/quotas/users/alice/usage?mode=reset', { token: t, body: { used_quota_size: -1 } });
    expect(r.status).toBe(400);
    expect(r.json.details[0].path).toBe('used_quota_size');
    expect((await call(api, 'PUT', '/api/v2/quotas/users/nobody/usage', { token: t, body: {} })).status).toBe(404);
  });
});

describe('reload', () => {
  test('an invalid file is rejected with its errors and the running state stays', async () => {
    const before = await call(api, 'GET', '/api/v2/dumpdata', { token: t });
    writeFileSync(api.server.configPath, api.yaml.replace('quota_size: 1000', 'quota_size: -3').replace('description: from yaml', 'descriptio: typo'));
    const r = await call(api, 'POST', '/api/v2/reload', { token: t });
    expect(r.status).toBe(400);
    const paths = r.json.details.map((d: any) => d.path);
    expect(paths).toContain('users[0].quota_size');
    expect(paths).toContain('users[0].descriptio');
    const after = await call(api, 'GET', '/api/v2/dumpdata', { token: t });
    expect({ ...after.json, created_at: 0 }).toEqual({ ...before.json, created_at: 0 });
    // The valid file back: reload applies it.
    writeFileSync(api.server.configPath, api.yaml.replace('quota_size: 1000', 'quota_size: 2000'));
    expect((await call(api, 'POST', '/api/v2/reload', { token: t })).status).toBe(200);
    expect((await call(api, 'GET', '/api/v2/users/alice', { token: t })).json.quota_size).toBe(2000);
  });
});

describe('health, metrics, status, OpenAPI', () => {
  test('healthz and metrics answer', async () => {
    const h = await call(api, 'GET', '/healthz');
    expect(h.status).toBe(200);
    expect(h.text).toBe('ok');
    await call(api, 'GET', '/api/v2/token', { basic: ['root', 'wrong'] });
    expect((await call(api, 'GET', '/metrics')).status).toBe(404);
    const res = await fetch(`http://127.0.0.1:${api.telemetryPort}/metrics`);
    const m = { status: res.status, text: await res.text() };
    expect(m.status).toBe(200);
    expect(m.text).toContain('# TYPE sftpgo_login_failed_total counter');
    expect(m.text).toMatch(/sftpgo_login_failed_total\{protocol="HTTP",reason="invalid_credentials"\} [1-9]/);
    expect(m.text).toMatch(/sftpgo_records\{kind="users",source="config"\} 1/);
    expect(m.text).toMatch(/sftpgo_reconcile_total\{result="ok",trigger="start"\} 1/);
    expect(m.text).toMatch(/sftpgo_reconcile_total\{result="ok",trigger="reload"\} [1-9]/);
  });

  test('status', async () => {
    const s = await call(api, 'GET', '/api/v2/status', { token: t });
    expect(s.json.ssh.is_active).toBe(true);
    expect(s.json.data_provider.is_active).toBe(true);
  });

  test('the OpenAPI document parses, lists the routes and carries the schema definitions', async () => {
    const r = await call(api, 'GET', '/api/v2/openapi.json');
    expect(r.status).toBe(200);
    const doc = r.json;
    expect(doc.openapi).toStartWith('3.');
    for (const p of ['/api/v2/token', '/api/v2/users', '/api/v2/users/{username}', '/api/v2/folders/{name}', '/api/v2/admins', '/api/v2/connections/{connectionID}', '/api/v2/quotas/users/{username}/usage', '/api/v2/reload', '/api/v2/dumpdata', '/api/v2/loaddata', '/api/v2/overrides/users/{username}'])
      expect(doc.paths[p]).toBeDefined();
    expect(doc.paths['/api/v2/users'].post.requestBody.content['application/json'].schema.$ref).toBe('#/components/schemas/User');
    expect(doc.components.schemas.User.properties.filesystem.$ref).toBe('#/components/schemas/Filesystem');
    // Every $ref resolves inside the document.
    const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
    for (const ref of refs) {
      const name = ref.split('/').pop()!.replace('"', '');
      expect(doc.components.schemas[name]).toBeDefined();
    }
    expect(JSON.stringify(doc)).not.toContain('#/definitions/');
  });
});
