// The web admin applies the API's rules, over plain HTTP (no browser needed): an admin limited to a
// role sees and manages only its role's users, and its new users get its role; pages need their
// permission; an admin disabled through the API loses its web session at the next request.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { freePort } from '../../support/net.ts';
import { startServer, type RunningServer } from '../../support/server.ts';
import { tempDir } from '../../support/tmp.ts';

const PASSWORD = 'admin-Web-Scope-1';
let server: RunningServer;
let http: string;

beforeAll(async () => {
  const dir = tempDir('web-scope-');
  const port = await freePort();
  http = `http://127.0.0.1:${port}`;
  const home = (n: string) => join(dir, 'homes', n);
  server = await startServer({
    cwd: dir,
    yaml: `httpd:
  bindings: [{ address: 127.0.0.1, port: ${port} }]
data_provider:
  password_hashing: { bcrypt_options: { cost: 4 } }
roles: [{ name: eu }, { name: us }]
users:
  - { username: bob, password: bob-Secret-1, home_dir: ${home('bob')}, role: eu }
  - { username: carol, password: carol-Secret-1, home_dir: ${home('carol')}, role: us }
admins:
  - { username: root, password: "${PASSWORD}", permissions: ["*"] }
  - { username: eu-admin, password: "${PASSWORD}", role: eu, permissions: [view_users, add_users, edit_users] }
`,
  });
});

afterAll(async () => {
  await server?.stop();
});

/** A browser-like client: keeps cookies, follows nothing, reads the CSRF token of the last page. */
class Visitor {
  readonly #cookies = new Map<string, string>();
  csrf = '';

  async request(path: string, form?: Record<string, string | string[]>): Promise<{ status: number; location: string; text: string }> {
    const body = form && new URLSearchParams(Object.entries(form).flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => [k, x]) : [[k, v]])));
    const res = await fetch(`${http}${path}`, {
      method: form ? 'POST' : 'GET',
      redirect: 'manual',
      headers: { cookie: [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; '), ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
      body,
    });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const [k, v] = pair!.split('=') as [string, string];
      if (v === '') this.#cookies.delete(k);
      else this.#cookies.set(k, v);
    }
    const text = await res.text();
    this.csrf = /name="_csrf" value="([^"]+)"/.exec(text)?.[1] ?? this.csrf;
    return { status: res.status, location: res.headers.get('location') ?? '', text };
  }

  async login(username: string): Promise<void> {
    await this.request('/web/admin/login');
    const r = await this.request('/web/admin/login', { _csrf: this.csrf, username, password: PASSWORD });
    expect(r.location).toBe('/web/admin/users');
    await this.request('/web/admin/users');
  }
}

async function apiToken(): Promise<string> {
  const r = await fetch(`${http}/api/v2/token`, { headers: { authorization: `Basic ${btoa(`root:${PASSWORD}`)}` } });
  return ((await r.json()) as { access_token: string }).access_token;
}

describe('web admin rules', () => {
  test('a role admin lists, opens and creates only users of its role; admins need a super admin', async () => {
    const eu = new Visitor();
    await eu.login('eu-admin');
    const list = await eu.request('/web/admin/users');
    expect(list.text).toContain('data-username="bob"');
    expect(list.text).not.toContain('data-username="carol"');
    expect((await eu.request('/web/admin/users/carol')).status).toBe(404);
    expect((await eu.request('/web/admin/users/bob')).status).toBe(200);
    expect((await eu.request('/web/admin/admins')).status).toBe(403);
    expect((await eu.request('/web/admin/status')).status).toBe(403);
    // A change to another role's user is refused as if the user did not exist.
    expect((await eu.request('/web/admin/users/carol/status', { _csrf: eu.csrf })).status).toBe(404);
    const created = await eu.request('/web/admin/users', { _csrf: eu.csrf, username: 'dora', password: 'dora-Secret-1', permissions: ['list', 'download'], status: '1' });
    expect(created.location).toBe('/web/admin/users/dora');
    const dora = await fetch(`${http}/api/v2/users/dora`, { headers: { authorization: `Bearer ${await apiToken()}` } });
    expect(await dora.json()).toMatchObject({ username: 'dora', role: 'eu', permissions: { '/': ['list', 'download'] }, source: 'runtime' });
    // Without del_users there is no delete button, and the post is refused.
    expect((await eu.request('/web/admin/users/dora')).text).not.toContain('/delete');
    expect((await eu.request('/web/admin/users/dora/delete', { _csrf: eu.csrf })).status).toBe(403);
  });

  test('an admin disabled through the API loses its web session at the next request', async () => {
    const eu = new Visitor();
    await eu.login('eu-admin');
    const auth = { authorization: `Bearer ${await apiToken()}`, 'content-type': 'application/json' };
    const admin = (await (await fetch(`${http}/api/v2/admins/eu-admin`, { headers: auth })).json()) as Record<string, unknown>;
    const put = await fetch(`${http}/api/v2/admins/eu-admin`, { method: 'PUT', headers: auth, body: JSON.stringify({ ...admin, status: 0 }) });
    expect(await put.text()).toContain('override');
    const r = await eu.request('/web/admin/users');
    expect(r.status).toBe(302);
    expect(r.location).toBe('/web/admin/login');
    await fetch(`${http}/api/v2/overrides/admins/eu-admin`, { method: 'DELETE', headers: auth });
  });
});
