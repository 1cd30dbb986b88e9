// The users and folders API against SFTPGo's documented shapes (openapi.yaml's User, BaseVirtualFolder,
// VirtualFolder, FilesystemConfig, Secret and ApiResponse, written out below), and a client that
// works the way SFTPGo's clients do: GET, edit, PUT the whole body back; POST a copy; send redacted
// secrets and empty stubs for the backends it does not use.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { ADMIN_PASSWORD, call, canLogin, startApiWithToken, stopApi, token, USER_PASSWORD, type Api } from './harness.ts';

type Kind = 'integer' | 'string' | 'boolean' | 'array' | 'object';

// openapi.yaml, components.schemas (SFTPGo 2.7): the type of every field.
const USER: Record<string, Kind> = {
  id: 'integer', status: 'integer', username: 'string', email: 'string', description: 'string', expiration_date: 'integer',
  password: 'string', public_keys: 'array', has_password: 'boolean', home_dir: 'string', virtual_folders: 'array', uid: 'integer',
  gid: 'integer', max_sessions: 'integer', quota_size: 'integer', quota_files: 'integer', permissions: 'object', used_quota_size: 'integer',
  used_quota_files: 'integer', last_quota_update: 'integer', upload_bandwidth: 'integer', download_bandwidth: 'integer',
  upload_data_transfer: 'integer', download_data_transfer: 'integer', total_data_transfer: 'integer', used_upload_data_transfer: 'integer',
  used_download_data_transfer: 'integer', created_at: 'integer', updated_at: 'integer', last_login: 'integer', first_download: 'integer',
  first_upload: 'integer', last_password_change: 'integer', filters: 'object', filesystem: 'object', additional_info: 'string',
  groups: 'array', oidc_custom_fields: 'object', role: 'string',
};
const BASE_FOLDER: Record<string, Kind> = {
  id: 'integer', name: 'string', mapped_path: 'string', description: 'string', used_quota_size: 'integer', used_quota_files: 'integer',
  last_quota_update: 'integer', users: 'array', filesystem: 'object',
};
const VIRTUAL_FOLDER: Record<string, Kind> = { ...BASE_FOLDER, virtual_path: 'string', quota_size: 'integer', quota_files: 'integer', subpath: 'string' };
const FILESYSTEM: Record<string, Kind> = {
  provider: 'integer', osconfig: 'object', s3config: 'object', gcsconfig: 'object', azblobconfig: 'object', cryptconfig: 'object', sftpconfig: 'object', httpconfig: 'object',
};
const S3: Record<string, Kind> = {
  bucket: 'string', region: 'string', access_key: 'string', access_secret: 'object', sse_customer_key: 'object', role_arn: 'string', session_token: 'string',
  endpoint: 'string', storage_class: 'string', acl: 'string', upload_part_size: 'integer', upload_concurrency: 'integer', upload_part_max_time: 'integer',
  download_part_size: 'integer', download_concurrency: 'integer', download_part_max_time: 'integer', force_path_style: 'boolean', key_prefix: 'string',
};
const SFTP: Record<string, Kind> = {
  endpoint: 'string', username: 'string', password: 'object', private_key: 'object', key_passphrase: 'object', fingerprints: 'array', prefix: 'string',
  disable_concurrent_reads: 'boolean', buffer_size: 'integer', equality_check_mode: 'integer',
};
const SECRET: Record<string, Kind> = { status: 'string', payload: 'string', key: 'string', additional_data: 'string', mode: 'integer' };
const SECRET_STATUSES = ['Plain', 'AES-256-GCM', 'Secretbox', 'GCP', 'AWS', 'VaultTransit', 'AzureKeyVault', 'Redacted'];
const API_RESPONSE: Record<string, Kind> = { message: 'string', error: 'string' };
/** Ours on purpose: who owns the record and its override (docs/api.md, "Overrides: the rules"); the field list of an error. */
const OURS = ['source', 'overrides', 'details'];

function kindOf(v: unknown): Kind | 'null' | 'number' {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v as Kind;
}

/** Every field of `obj` is in `shape` (or ours) with the documented type; `required` are present. */
function mismatches(obj: Record<string, unknown>, shape: Record<string, Kind>, at: string, required: string[] = []): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(obj)) {
    if (OURS.includes(k)) continue;
    if (!(k in shape)) out.push(`${at}${k}: not in SFTPGo's shape`);
    else if (kindOf(v) !== shape[k]) out.push(`${at}${k}: ${kindOf(v)}, SFTPGo has ${shape[k]}`);
  }
  for (const r of required) if (!(r in obj)) out.push(`${at}${r}: missing`);
  return out;
}

function secretMismatches(s: any, at: string): string[] {
  const out = mismatches(s, SECRET, at, ['status']);
  if (!SECRET_STATUSES.includes(s.status)) out.push(`${at}status: ${s.status}`);
  // A stored secret is shown redacted: nothing that opens it, not even ciphertext.
  if (s.status !== 'Redacted' || Object.keys(s).length !== 1) out.push(`${at}: ${JSON.stringify(s)} is not {"status":"Redacted"}`);
  return out;
}

function filesystemMismatches(fs: any, at: string): string[] {
  const out = mismatches(fs, FILESYSTEM, at, ['provider']);
  if (![0, 1, 2, 3, 4, 5, 6].includes(fs.provider)) out.push(`${at}provider: ${fs.provider}`);
  if (fs.s3config) {
    out.push(...mismatches(fs.s3config, S3, `${at}s3config.`));
    for (const k of ['access_secret', 'sse_customer_key']) if (fs.s3config[k]) out.push(...secretMismatches(fs.s3config[k], `${at}s3config.${k}.`));
  }
  if (fs.sftpconfig) {
    out.push(...mismatches(fs.sftpconfig, SFTP, `${at}sftpconfig.`));
    for (const k of ['password', 'private_key', 'key_passphrase']) if (fs.sftpconfig[k]) out.push(...secretMismatches(fs.sftpconfig[k], `${at}sftpconfig.${k}.`));
  }
  return out;
}

const USER_ALWAYS = ['id', 'status', 'username', 'home_dir', 'permissions', 'filesystem', 'has_password', 'used_quota_size', 'used_quota_files',
  'last_quota_update', 'used_upload_data_transfer', 'used_download_data_transfer', 'created_at', 'updated_at'];

function userMismatches(u: any): string[] {
  const out = mismatches(u, USER, '', USER_ALWAYS);
  out.push(...filesystemMismatches(u.filesystem, 'filesystem.'));
  for (const [i, vf] of (u.virtual_folders ?? []).entries()) {
    out.push(...mismatches(vf, VIRTUAL_FOLDER, `virtual_folders[${i}].`, ['name', 'virtual_path', 'filesystem']));
    out.push(...filesystemMismatches(vf.filesystem, `virtual_folders[${i}].filesystem.`));
  }
  if (u.filters?.totp_config?.secret) out.push(...secretMismatches(u.filters.totp_config.secret, 'filters.totp_config.secret.'));
  return out;
}

function folderMismatches(f: any): string[] {
  return [...mismatches(f, BASE_FOLDER, '', ['id', 'name', 'filesystem', 'used_quota_size', 'used_quota_files', 'last_quota_update']), ...filesystemMismatches(f.filesystem, 'filesystem.')];
}

/** The blocks SFTPGo's own clients send for the backends a user does not use: empty, secrets as empty stubs. */
function sftpgoEmptyBlocks(): Record<string, unknown> {
  const stub = () => ({ status: '', payload: '', key: '', additional_data: '', mode: 0 });
  return {
    osconfig: {},
    s3config: { access_secret: stub(), sse_customer_key: stub() },
    gcsconfig: { credentials: stub() },
    azblobconfig: { account_key: stub(), sas_url: stub() },
    cryptconfig: { passphrase: stub() },
    sftpconfig: { password: stub(), private_key: stub(), key_passphrase: stub() },
    httpconfig: { password: stub(), api_key: stub() },
  };
}

/** A client written the way SFTPGo's are: it reads a whole user, edits it, and writes it back whole. */
class SftpgoClient {
  constructor(
    private readonly api: Api,
    private readonly token: string,
  ) {}
  async get(kind: 'users' | 'folders', name: string): Promise<any> {
    const r = await call(this.api, 'GET', `/api/v2/${kind}/${encodeURIComponent(name)}`, { token: this.token });
    if (r.status !== 200) throw new Error(`GET ${name}: ${r.status} ${r.json?.error}`);
    return r.json;
  }
  async update(kind: 'users' | 'folders', name: string, edit: (o: any) => void): Promise<number> {
    const o = await this.get(kind, name);
    edit(o);
    const r = await call(this.api, 'PUT', `/api/v2/${kind}/${encodeURIComponent(name)}`, { token: this.token, body: o });
    if (r.status !== 200) throw new Error(`PUT ${name}: ${r.status} ${r.json?.error}`);
    return r.status;
  }
  async add(kind: 'users' | 'folders', o: any): Promise<any> {
    const r = await call(this.api, 'POST', `/api/v2/${kind}`, { token: this.token, body: o });
    if (r.status !== 201) throw new Error(`POST: ${r.status} ${r.json?.error}`);
    return r.json;
  }
}

let api: Api;
let t: string;
let client: SftpgoClient;
const S3_SECRET = 'S3-Access-Secret-Value-1';
const SFTP_PASSWORD = 'Remote-Sftp-Password-1';

beforeAll(async () => {
  ({ api, token: t } = await startApiWithToken());
  client = new SftpgoClient(api, t);
  // A runtime user on S3 with a secret and a mount of the YAML's folder; a folder on a remote SFTP server.
  await client.add('users', {
    username: 'bucketeer', password: 'Bucket-Pass-1', home_dir: join(api.dir, 'homes/bucketeer'), permissions: { '/': ['*'] },
    filesystem: { provider: 1, s3config: { bucket: 'b1', region: 'eu-west-1', access_key: 'AKIA1', access_secret: { status: 'Plain', payload: S3_SECRET }, session_token: 'Session-Token-1' } },
    virtual_folders: [{ name: 'shared', virtual_path: '/shared', quota_size: -1, quota_files: -1 }],
  });
  await client.add('folders', {
    name: 'remote', description: 'over sftp',
    filesystem: { provider: 5, sftpconfig: { endpoint: '127.0.0.1:1', username: 'u', password: { status: 'Plain', payload: SFTP_PASSWORD }, fingerprints: ['SHA256:abc'] } },
  });
});
afterAll(() => stopApi(api));

async function stored(kind: 'users' | 'folders', name: string): Promise<any> {
  const d = await call(api, 'GET', '/api/v2/dumpdata', { token: t });
  return d.json[kind].find((r: any) => (r.username ?? r.name) === name);
}

describe("responses have SFTPGo's shapes", () => {
  test('user: fields and types, provider numbers, redacted secrets, embedded folders', async () => {
    for (const name of ['alice', 'bucketeer']) {
      const u = await client.get('users', name);
      expect(userMismatches(u)).toEqual([]);
      expect(u.password).toBeUndefined();
    }
    const b = await client.get('users', 'bucketeer');
    expect(b.filesystem.provider).toBe(1);
    expect(b.filesystem.s3config.access_secret).toEqual({ status: 'Redacted' });
    // A plain string in SFTPGo: never shown, kept by a PUT that leaves it out.
    expect(b.filesystem.s3config.session_token).toBeUndefined();
    expect((await stored('users', 'bucketeer')).filesystem.s3config.session_token.sealed).toMatch(/^v1:/);
    expect(b.virtual_folders[0]).toMatchObject({ name: 'shared', virtual_path: '/shared', mapped_path: join(api.dir, 'shared'), filesystem: { provider: 0 } });
    const list = await call(api, 'GET', '/api/v2/users', { token: t });
    for (const u of list.json) expect(userMismatches(u)).toEqual([]);
    expect(list.text).not.toContain(S3_SECRET);
    expect(list.text).not.toContain('Session-Token-1');
    expect(list.text).not.toContain('v1:');
  });

  test('folder: fields and types, provider number, redacted secrets', async () => {
    for (const name of ['shared', 'remote']) expect(folderMismatches(await client.get('folders', name))).toEqual([]);
    const r = await call(api, 'GET', '/api/v2/folders/remote', { token: t });
    expect(r.json.filesystem.provider).toBe(5);
    expect(r.json.filesystem.sftpconfig.password).toEqual({ status: 'Redacted' });
    // Who mounts a folder, as SFTPGo lists it; ignored when sent back.
    expect((await client.get('folders', 'shared')).users).toEqual(['bucketeer']);
    expect(r.json.users).toBeUndefined();
    expect(r.text).not.toContain(SFTP_PASSWORD);
    expect(r.text).not.toContain('v1:');
  });

  test('errors: {message, error} with the status codes SFTPGo uses', async () => {
    const cases: [string, string, Record<string, unknown>, number][] = [
      ['GET', '/api/v2/users/nobody', { token: t }, 404],
      ['GET', '/api/v2/folders/nothing', { token: t }, 404],
      ['POST', '/api/v2/users', { token: t, body: { username: 'alice' } }, 409],
      ['POST', '/api/v2/users', { token: t, body: { username: 'x', quota_size: -1 } }, 400],
      ['PUT', '/api/v2/users/alice', { token: t, body: { username: 'alice', bogus: 1 } }, 400],
      ['GET', '/api/v2/users', {}, 401],
      ['GET', '/api/v2/users', { token: 'not-a-token' }, 401],
    ];
    for (const [method, path, opts, status] of cases) {
      const r = await call(api, method, path, opts);
      expect([method, path, r.status]).toEqual([method, path, status]);
      expect(mismatches(r.json, API_RESPONSE, '', ['message', 'error'])).toEqual([]);
      expect(r.json.error.length).toBeGreaterThan(0);
    }
    expect((await call(api, 'GET', '/api/v2/users/nobody', { token: t })).json).toEqual({ message: 'user "nobody" not found', error: 'Not Found' });
    const viewer = await token(api, 'viewer', ADMIN_PASSWORD);
    const denied = await call(api, 'PUT', '/api/v2/users/alice', { token: viewer, body: { username: 'alice' } });
    expect(denied.status).toBe(403);
    expect(mismatches(denied.json, API_RESPONSE, '', ['message', 'error'])).toEqual([]);
    const bad = await call(api, 'PUT', '/api/v2/users/alice', { token: t, body: { username: 'alice', bogus: 1 } });
    expect(bad.json.details).toEqual([{ path: 'bogus', message: 'unknown field' }]);
    expect(bad.json.error).toContain('bogus: unknown field');
  });
});

test('the OpenAPI document describes these shapes', async () => {
  const doc = (await call(api, 'GET', '/api/v2/openapi.json')).json;
  const c = doc.components.schemas;
  expect(Object.keys(c.ApiResponse.properties)).toEqual(['message', 'error', 'details']);
  expect(doc.paths['/api/v2/users/{username}'].get.responses['404'].content['application/json'].schema.$ref).toBe('#/components/schemas/ApiResponse');
  expect(c.S3Config.properties.access_secret.$ref).toBe('#/components/schemas/ApiSecret');
  expect(c.UserFilters.properties.totp_config.properties.secret.$ref).toBe('#/components/schemas/ApiSecret');
  expect(c.ApiSecret.oneOf[0].properties.status.enum).toEqual([...SECRET_STATUSES, '']);
  expect(Object.keys(c.ApiSecret.oneOf[0].properties)).toEqual(Object.keys(SECRET));
  for (const f of USER_ALWAYS) expect([f, f in c.User.properties]).toEqual([f, true]);
  for (const f of ['has_password', 'id', 'used_quota_size', 'created_at']) expect(c.User.properties[f].readOnly).toBe(true);
  for (const f of ['mapped_path', 'filesystem', 'used_quota_size']) expect(c.VirtualFolder.properties[f].readOnly).toBe(true);
  expect(c.Filesystem.properties.provider.description).toContain('Responses carry the number');
});

describe('an SFTPGo-style client works unchanged', () => {
  test('GET and PUT back unchanged: no change, and no override on a YAML user', async () => {
    const before = await stored('users', 'alice');
    await client.update('users', 'alice', () => {});
    expect((await call(api, 'GET', '/api/v2/overrides', { token: t })).json).toEqual([]);
    const after = await stored('users', 'alice');
    expect({ ...after, updated_at: 0 }).toEqual({ ...before, updated_at: 0 });
    await client.update('folders', 'shared', () => {});
    expect((await call(api, 'GET', '/api/v2/overrides', { token: t })).json).toEqual([]);
    const b = await stored('users', 'bucketeer');
    await client.update('users', 'bucketeer', () => {});
    expect({ ...(await stored('users', 'bucketeer')), updated_at: 0 }).toEqual({ ...b, updated_at: 0 });
  });

  test('GET, edit a field, PUT: the field changes, the rest stays; on a YAML user it is the override', async () => {
    await client.update('users', 'alice', (u) => (u.quota_files = 42));
    const u = await client.get('users', 'alice');
    expect(u.quota_files).toBe(42);
    expect(u.description).toBe('from yaml');
    expect(Object.keys(u.overrides.fields)).toEqual(['quota_files']);
    expect(await canLogin(api.sftpPort, 'alice', USER_PASSWORD)).toBe(true);
    await client.update('users', 'alice', (u) => (u.quota_files = 0));
    expect((await call(api, 'GET', '/api/v2/overrides', { token: t })).json).toEqual([]);
  });

  test('redacted secrets and empty stubs in unused backend blocks keep the stored secret', async () => {
    const before = await stored('users', 'bucketeer');
    expect(before.filesystem.s3config.access_secret.sealed).toMatch(/^v1:/);
    await client.update('users', 'bucketeer', (u) => {
      const s3 = { ...u.filesystem.s3config, access_secret: { status: 'Redacted' } };
      u.filesystem = { ...sftpgoEmptyBlocks(), provider: 1, s3config: { ...s3, sse_customer_key: { status: '', payload: '' } } };
      u.max_sessions = 3;
    });
    const after = await stored('users', 'bucketeer');
    expect(after.filesystem).toEqual(before.filesystem);
    expect(after.filesystem.s3config.session_token).toBeDefined();
    expect(after.max_sessions).toBe(3);
    // An empty stub in the used block, and a block without the secret at all, keep it too.
    await client.update('users', 'bucketeer', (u) => (u.filesystem.s3config.access_secret = {}));
    expect((await stored('users', 'bucketeer')).filesystem).toEqual(before.filesystem);
    await client.update('users', 'bucketeer', (u) => delete u.filesystem.s3config.access_secret);
    expect((await stored('users', 'bucketeer')).filesystem).toEqual(before.filesystem);
    // Plain sets a new one, stored sealed; an empty Plain payload removes it.
    await client.update('users', 'bucketeer', (u) => (u.filesystem.s3config.access_secret = { status: 'Plain', payload: 'Another-Secret-2' }));
    const changed = await stored('users', 'bucketeer');
    expect(changed.filesystem.s3config.access_secret.sealed).toMatch(/^v1:/);
    expect(changed.filesystem.s3config.access_secret).not.toEqual(before.filesystem.s3config.access_secret);
    expect(JSON.stringify(changed)).not.toContain('Another-Secret-2');
    await client.update('users', 'bucketeer', (u) => (u.filesystem.s3config.access_secret = { status: 'Plain', payload: '' }));
    expect((await stored('users', 'bucketeer')).filesystem.s3config.access_secret).toBeUndefined();
    // Folders the same way.
    const folder = await stored('folders', 'remote');
    await client.update('folders', 'remote', (f) => {
      f.filesystem = { ...sftpgoEmptyBlocks(), provider: 5, sftpconfig: { ...f.filesystem.sftpconfig, private_key: { status: '', payload: '' } } };
      f.description = 'edited';
    });
    const f2 = await stored('folders', 'remote');
    expect(f2.filesystem).toEqual(folder.filesystem);
    expect(f2.description).toBe('edited');
  });

  test('POST of a GET body with a new name creates a copy; redacted secrets mean none', async () => {
    const src = await client.get('users', 'alice');
    const copy = await client.add('users', { ...src, username: 'alice2', home_dir: join(api.dir, 'homes/alice2'), password: 'Copy-Pass-1' });
    expect(copy.source).toBe('runtime');
    expect(copy.description).toBe('from yaml');
    expect(copy.quota_size).toBe(src.quota_size);
    expect(await canLogin(api.sftpPort, 'alice2', 'Copy-Pass-1')).toBe(true);

    const b = await client.get('users', 'bucketeer');
    await client.update('users', 'bucketeer', (u) => (u.filesystem.s3config.access_secret = { status: 'Plain', payload: S3_SECRET }));
    const b2 = await client.add('users', { ...(await client.get('users', 'bucketeer')), username: 'bucketeer2', home_dir: join(api.dir, 'homes/bucketeer2') });
    expect(b2.filesystem.s3config).toEqual({ ...b.filesystem.s3config, access_secret: undefined });
    expect((await stored('users', 'bucketeer2')).filesystem.s3config.access_secret).toBeUndefined();
    expect(b2.virtual_folders.map((v: any) => v.name)).toEqual(['shared']);

    const f = await client.get('folders', 'remote');
    const f2 = await client.add('folders', { ...f, name: 'remote2' });
    expect(f2.filesystem.sftpconfig.password).toBeUndefined();
    expect(f2.description).toBe(f.description);
  });

  test("input: provider names still accepted; SFTPGo settings we lack only when empty; another server's ciphertext only kept", async () => {
    const home = (n: string) => join(api.dir, 'homes', n);
    const named = await client.add('users', {
      username: 'named', home_dir: home('named'), filesystem: { provider: 's3', s3config: { bucket: 'b', region: 'r', access_secret: { status: 'Plain', payload: '' } } },
    });
    expect(named.filesystem.provider).toBe(1);
    expect((await stored('users', 'named')).filesystem.s3config).toEqual({ bucket: 'b', region: 'r' });
    const empty = await client.add('users', {
      username: 'withempties', home_dir: home('withempties'), role: '', groups: [], oidc_custom_fields: {},
      filters: { bandwidth_limits: [], recovery_codes: [{ secret: { status: 'Redacted' }, used: false }], tls_certs: [], password_strength: 0 },
      virtual_folders: [{ name: 'shared', virtual_path: '/s', subpath: '' }],
    });
    expect(empty.filters ?? {}).toEqual({});
    const refused = [
      // Group mappings are a real field: one naming a group that does not exist is refused.
      [{ groups: [{ name: 'g', type: 1 }] }, 'groups[0].name'],
      [{ filters: { bandwidth_limits: [{ sources: ['10.0.0.0/8'], upload_bandwidth: 1 }] } }, 'filters.bandwidth_limits'],
      [{ virtual_folders: [{ name: 'shared', virtual_path: '/s', subpath: '/x' }] }, 'virtual_folders[0].subpath'],
      [{ filesystem: { provider: 0, osconfig: { read_buffer_size: 2 } } }, 'filesystem.osconfig.read_buffer_size'],
      [{ filesystem: { provider: 6, httpconfig: { endpoint: 'https://x' } } }, 'filesystem.provider'],
      [{ filesystem: { provider: 1, s3config: { bucket: 'b', region: 'r', access_secret: { status: 'AES-256-GCM', payload: 'xx', key: 'k' } } } }, 'filesystem.s3config.access_secret'],
      [{ filesystem: { provider: 1, s3config: { bucket: 'b', region: 'r', access_secret: { status: 'Bogus', payload: 'xx' } } } }, 'filesystem.s3config.access_secret.status'],
    ] as const;
    for (const [extra, path] of refused) {
      const r = await call(api, 'POST', '/api/v2/users', { token: t, body: { username: 'refused', home_dir: home('refused'), ...extra } });
      expect([path, r.status]).toEqual([path, 400]);
      expect(r.json.details.map((d: any) => d.path)).toContain(path);
    }
    // A role is a real setting now: one that does not exist is refused as such.
    const noRole = await call(api, 'POST', '/api/v2/users', { token: t, body: { username: 'refused', home_dir: home('refused'), role: 'auditors' } });
    expect(noRole.status).toBe(400);
    expect(noRole.json.error).toContain('role "auditors" does not exist');
    expect((await call(api, 'GET', '/api/v2/users/refused', { token: t })).status).toBe(404);
    // Our at-rest form, as a dump carries it, is accepted when it opens with this server's key.
    const sealed = (await stored('users', 'bucketeer')).filesystem.s3config.access_secret;
    const fromDump = await call(api, 'POST', '/api/v2/users', {
      token: t, body: { username: 'fromdump', home_dir: home('fromdump'), filesystem: { provider: 1, s3config: { bucket: 'b', region: 'r', access_secret: sealed } } },
    });
    expect(fromDump.status).toBe(201);
    expect((await stored('users', 'fromdump')).filesystem.s3config.access_secret).toEqual(sealed);
    const forged = await call(api, 'POST', '/api/v2/users', {
      token: t, body: { username: 'forged', home_dir: home('forged'), filesystem: { provider: 1, s3config: { bucket: 'b', region: 'r', access_secret: { sealed: 'v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' } } } },
    });
    expect(forged.status).toBe(400);
    expect(forged.json.error).toContain("does not open with this server's secrets.key");
    // On a PUT, another server's ciphertext keeps what is stored, as SFTPGo does.
    const before = await stored('users', 'bucketeer');
    await client.update('users', 'bucketeer', (u) => (u.filesystem.s3config.access_secret = { status: 'AES-256-GCM', payload: 'abc', key: 'def' }));
    expect((await stored('users', 'bucketeer')).filesystem).toEqual(before.filesystem);
  });

  test("PUT replaces: a field the body leaves out is back to its default, the password is kept", async () => {
    await client.update('users', 'named', (u) => (u.max_sessions = 2));
    const r = await call(api, 'PUT', '/api/v2/users/named', { token: t, body: { username: 'named', home_dir: join(api.dir, 'homes/named') } });
    expect(r.status).toBe(200);
    const u = await client.get('users', 'named');
    expect(u.max_sessions).toBeUndefined();
    expect(u.filesystem).toEqual({ provider: 0 });
    expect(await canLogin(api.sftpPort, 'alice2', 'Copy-Pass-1')).toBe(true);
    expect((await call(api, 'PUT', '/api/v2/users/alice2', { token: t, body: { username: 'alice2', home_dir: join(api.dir, 'homes/alice2') } })).status).toBe(200);
    expect(await canLogin(api.sftpPort, 'alice2', 'Copy-Pass-1')).toBe(true);
  });
});
