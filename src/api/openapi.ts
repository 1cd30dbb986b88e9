// The OpenAPI 3.1 document, generated: components.schemas are sftpgo.schema.json's definitions (the
// same ones the YAML and request bodies are validated against, with `$ref`s rewritten), and paths
// come from the route table. Nothing here is a hand-kept copy of a resource's fields.
import schema from '../../sftpgo.schema.json' with { type: 'json' };
import pkg from '../../package.json' with { type: 'json' };
import { ROUTES, type Route } from './routes.ts';
import { SECRET_STATUSES } from './shapes.ts';

type Json = Record<string, unknown>;

/** JSON Schema draft-07 `#/definitions/X` references → OpenAPI `#/components/schemas/X`. */
export function toOpenApiSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(toOpenApiSchema);
  if (!node || typeof node !== 'object') return node;
  const out: Json = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === '$schema' || k === '$id') continue;
    out[k] = k === '$ref' && typeof v === 'string' ? v.replace('#/definitions/', '#/components/schemas/') : toOpenApiSchema(v);
  }
  return out;
}

// Response shapes that are not config: small, and documented here rather than in the config schema.
const API_SCHEMAS: Json = {
  ApiResponse: {
    type: 'object',
    description: "SFTPGo's error body. `details` (ours) lists the fields at fault.",
    required: ['message', 'error'],
    properties: {
      message: { type: 'string', description: 'For a missing resource, which one' },
      error: { type: 'string', description: 'What went wrong ("Not Found" for a missing resource)' },
      details: { type: 'array', items: { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' } } } },
    },
  },
  ApiSecret: {
    description:
      "A secret of a user or folder on the API, as SFTPGo's: every stored secret reads as {status: \"Redacted\"}. On input, {status: \"Plain\", payload} sets it (an empty payload removes it); \"Redacted\", an empty stub ({} or empty status and payload), another server's encrypted secret, or leaving it out keeps the stored one on PUT and means none on POST. A plain string sets it too, and {sealed} (the at-rest form a dump carries) is accepted when it opens with this server's key.",
    oneOf: [
      {
        type: 'object',
        additionalProperties: false,
        properties: {
          status: { enum: [...SECRET_STATUSES, ''] },
          payload: { type: 'string' },
          key: { type: 'string' },
          additional_data: { type: 'string' },
          mode: { type: 'integer' },
        },
      },
      { type: 'string', writeOnly: true },
      { type: 'object', writeOnly: true, additionalProperties: false, required: ['sealed'], properties: { sealed: { type: 'string' } } },
    ],
  },
  Share: {
    type: 'object',
    description: "SFTPGo's share link. id, username, created_at, updated_at, last_use_at and used_tokens are set by the server; a GET shows a password as \"[**redacted**]\", which a PUT may send back to keep it.",
    required: ['scope', 'paths'],
    properties: {
      id: { type: 'string', readOnly: true },
      name: { type: 'string', description: 'Default: the id' },
      description: { type: 'string' },
      scope: { type: 'integer', enum: [1, 2, 3], description: '1 read, 2 write, 3 read and write' },
      paths: { type: 'array', items: { type: 'string' }, description: "Paths of the owner's tree; a write scope takes exactly one directory" },
      username: { type: 'string', readOnly: true },
      created_at: { type: 'integer', readOnly: true, description: 'epoch milliseconds' },
      updated_at: { type: 'integer', readOnly: true, description: 'epoch milliseconds' },
      last_use_at: { type: 'integer', readOnly: true, description: 'epoch milliseconds; absent: never used' },
      expires_at: { type: 'integer', description: 'epoch milliseconds; absent or 0: never' },
      password: { type: 'string', description: 'Clear text on input (stored hashed); redacted on output' },
      max_tokens: { type: 'integer', minimum: 0, description: 'Uses allowed: each download and each uploaded file is one; 0: no limit' },
      used_tokens: { type: 'integer', readOnly: true },
      allow_from: { type: 'array', items: { type: 'string' }, description: 'Networks (CIDR) the share may be used from; empty: anywhere' },
    },
  },
  Token: { type: 'object', properties: { access_token: { type: 'string' }, expires_at: { type: 'string', format: 'date-time' } } },
  DirEntry: {
    type: 'object',
    description: "An entry of a user's directory listing, as SFTPGo's: `mode` is Go's os.FileMode (directory bit 2^31, symlink bit 2^27, then the permission bits); `size` only for files.",
    properties: { name: { type: 'string' }, size: { type: 'integer' }, mode: { type: 'integer' }, last_modified: { type: 'string', format: 'date-time' } },
  },
  UserProfile: {
    type: 'object',
    description: "A user's own profile. `additional_emails` and `tls_certs` (SFTPGo) are accepted only empty.",
    properties: { email: { type: 'string' }, description: { type: 'string' }, allow_api_key_auth: { type: 'boolean' }, public_keys: { type: 'array', items: { type: 'string' } } },
  },
  TOTPConfig: { type: 'object', properties: { name: { type: 'string' }, issuer: { type: 'string' }, algo: { type: 'string' } } },
  TOTPGenerate: { type: 'object', properties: { config_name: { type: 'string', enum: ['Default'] } } },
  TOTPValidate: { type: 'object', required: ['passcode', 'secret'], properties: { config_name: { type: 'string', enum: ['Default'] }, passcode: { type: 'string' }, secret: { type: 'string' } } },
  TOTPSave: {
    type: 'object',
    properties: {
      enabled: { type: 'boolean' },
      config_name: { type: 'string', enum: ['Default'] },
      secret: { type: 'object', properties: { status: { type: 'string' }, payload: { type: 'string' } } },
      protocols: { type: 'array', items: { type: 'string', enum: ['SSH', 'FTP', 'HTTP'] } },
    },
  },
  RecoveryCode: {
    type: 'object',
    description: "A two-factor recovery code. Kept hashed here, so a list shows each code's first characters (SFTPGo shows the whole code); the whole codes are answered once, by the POST that makes them.",
    properties: { code: { type: 'string' }, used: { type: 'boolean' } },
  },
  PwdChange: { type: 'object', required: ['current_password', 'new_password'], properties: { current_password: { type: 'string' }, new_password: { type: 'string' } } },
  FileMetadata: { type: 'object', required: ['modification_time'], properties: { modification_time: { type: 'integer', description: 'Milliseconds since the epoch' } } },
  PathList: { type: 'array', items: { type: 'string' }, description: 'Paths in the user\'s tree, from its root' },
  UserUsage: {
    type: 'object',
    description: "Ours: a user's quota and data transfer usage in one answer.",
    properties: {
      username: { type: 'string' },
      used_quota_size: { type: 'integer' },
      used_quota_files: { type: 'integer' },
      last_quota_update: { type: 'integer' },
      used_upload_data_transfer: { type: 'integer' },
      used_download_data_transfer: { type: 'integer' },
    },
  },
  QuotaUsage: {
    type: 'object',
    description: 'The body of a quota usage PUT: a missing field is 0 (with mode=add: unchanged); negative values are refused.',
    properties: { used_quota_size: { type: 'integer', minimum: 0 }, used_quota_files: { type: 'integer', minimum: 0 } },
  },
  TransferQuotaUsage: {
    type: 'object',
    description: 'The body of a transfer usage PUT, in bytes: a missing field is 0 (with mode=add: unchanged); negative values are refused.',
    properties: { used_upload_data_transfer: { type: 'integer', minimum: 0 }, used_download_data_transfer: { type: 'integer', minimum: 0 } },
  },
  APIKey: {
    type: 'object',
    description: 'An API key, as SFTPGo has it. id, created_at, updated_at and last_use_at are set by the server; key is never shown after creation.',
    properties: {
      id: { type: 'string' },
      name: { type: 'string' },
      scope: { type: 'integer', enum: [1, 2], description: '1: an admin key (admin API); 2: a user key (user API, for a user with filters.allow_api_key_auth)' },
      created_at: { type: 'integer', description: 'epoch milliseconds' },
      updated_at: { type: 'integer', description: 'epoch milliseconds' },
      last_use_at: { type: 'integer', description: 'epoch milliseconds, updated at most once a minute; absent: never used' },
      expires_at: { type: 'integer', description: 'epoch milliseconds; absent or 0: never' },
      description: { type: 'string' },
      admin: { type: 'string', description: 'The admin the key impersonates; absent: the admin named after the key, <id>.<key>.<admin>' },
      user: { type: 'string', description: 'Scope 2: the user the key impersonates; absent: the user named after the key, <id>.<key>.<user>' },
    },
  },
  APIKeyCreated: {
    type: 'object',
    description: 'The answer to a key creation; the X-Object-ID header carries the id and Location its URL.',
    properties: { message: { type: 'string' }, key: { type: 'string', description: '<id>.<key>: send it as X-SFTPGO-API-KEY. Shown only this once.' } },
  },
  QuotaScan: {
    type: 'object',
    description: 'A running quota scan: username for a user, name for a folder.',
    properties: { username: { type: 'string' }, name: { type: 'string' }, start_time: { type: 'integer' } },
  },
  Override: {
    type: 'object',
    properties: {
      kind: { enum: ['user', 'folder', 'admin'] },
      name: { type: 'string' },
      fields: { type: 'array', items: { type: 'string' } },
      updated_at: { type: 'integer' },
      updated_by: { type: 'string' },
    },
  },
  DefenderHost: {
    type: 'object',
    description: "SFTPGo's DefenderEntry.",
    required: ['id', 'ip'],
    properties: {
      id: { type: 'string', description: 'Hex of the address text' },
      ip: { type: 'string' },
      ban_time: { type: 'string', format: 'date-time', description: 'When the ban ends (RFC 3339, seconds); absent while the host is only scored' },
      score: { type: 'integer', description: 'Absent for a banned host' },
    },
  },
  Transfer: {
    type: 'object',
    properties: {
      operation_type: { enum: ['upload', 'download'] },
      path: { type: 'string' },
      start_time: { type: 'integer', description: 'epoch milliseconds' },
      size: { type: 'integer', description: 'bytes transferred' },
    },
  },
  ConnectionStatus: {
    type: 'object',
    properties: {
      username: { type: 'string' },
      connection_id: { type: 'string' },
      client_version: { type: 'string', description: "SSH: the client's identification line; FTP: what it sent with CLNT; WebDAV: its User-Agent; absent when unknown" },
      remote_address: { type: 'string' },
      connection_time: { type: 'integer', description: 'epoch milliseconds' },
      last_activity: { type: 'integer', description: 'epoch milliseconds' },
      protocol: { enum: ['SFTP', 'SCP', 'SSH', 'FTP', 'DAV', 'HTTP', 'HTTPShare'] },
      active_transfers: { type: 'array', items: { $ref: '#/components/schemas/Transfer' } },
      node: { type: 'string', description: 'The node (replica) holding the connection; absent without a shared store' },
    },
  },
  ServicesStatus: {
    type: 'object',
    description: "SFTPGo's ServicesStatus; each service's connections, store, config and node are ours.",
    properties: {
      ssh: { type: 'object', properties: { is_active: { type: 'boolean' }, bindings: { type: 'array', items: { type: 'object' } }, connections: { type: 'integer' } } },
      ftp: { type: 'object', properties: { is_active: { type: 'boolean' }, bindings: { type: 'array', items: { type: 'object' } }, passive_port_range: { type: 'object', properties: { start: { type: 'integer' }, end: { type: 'integer' } } }, connections: { type: 'integer' } } },
      webdav: { type: 'object', properties: { is_active: { type: 'boolean' }, bindings: { type: 'array', items: { type: 'object' } }, connections: { type: 'integer' } } },
      data_provider: { type: 'object', properties: { is_active: { type: 'boolean' }, driver: { type: 'string' }, error: { type: 'string' } } },
      defender: { type: 'object', properties: { is_active: { type: 'boolean' } } },
      mfa: { type: 'object', properties: { is_active: { type: 'boolean' }, totp_configs: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' }, algo: { type: 'string' } } } } } },
      allow_list: { type: 'object', properties: { is_active: { type: 'boolean' } } },
      rate_limiters: { type: 'object', properties: { is_active: { type: 'boolean' }, protocols: { type: 'array', items: { type: 'string' } } } },
      store: { type: 'object', properties: { users: { type: 'integer' }, folders: { type: 'integer' }, admins: { type: 'integer' }, api_keys: { type: 'integer' }, overrides: { type: 'integer' } } },
      node: {
        type: 'object',
        description: 'With a shared store: this node and every node registered (active: refreshed within two minutes).',
        properties: {
          name: { type: 'string' },
          url: { type: 'string' },
          nodes: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' }, url: { type: 'string' }, active: { type: 'boolean' }, updated_at: { type: 'integer' } } } },
        },
      },
      config: {
        type: 'object',
        description: 'Where the running config came from: `file`, or `git` (reconcile.git) with the commit serving, when it was applied (epoch ms) and why the last check applied nothing newer.',
        properties: {
          source: { type: 'string', enum: ['file', 'git'] }, revision: { type: 'string' }, applied_at: { type: 'integer' }, last_error: { type: 'string' },
          stored_revision: {
            type: 'object',
            description: 'The config revision the store records as applied last, by this server or another sharing the store.',
            properties: {
              source: { type: 'string', enum: ['file', 'git'] }, hash: { type: 'string' }, node: { type: 'string' }, applied_at: { type: 'integer' },
              url: { type: 'string' }, branch: { type: 'string' }, path: { type: 'string' }, revision: { type: 'string' }, file: { type: 'string' }, mtime: { type: 'integer' },
            },
          },
          revision_check: { type: 'string', enum: ['first', 'newer', 'same', 'older'], description: "The last reconcile's verdict on this server's config against the stored revision; `older`: the store's newer state serves." },
          warning: { type: 'string', description: 'With revision_check older: what this server has and what the store has.' },
        },
      },
    },
  },
};

function ref(name: string): Json {
  return name.endsWith('[]') ? { type: 'array', items: { $ref: `#/components/schemas/${name.slice(0, -2)}` } } : { $ref: `#/components/schemas/${name}` };
}

function operation(r: Route): Json {
  const params = [...r.path.matchAll(/\{([^}]+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
  const query = (r.query ?? []).map((q) => ({ name: q.name, in: 'query', required: false, description: q.description, schema: q.schema }));
  const op: Json = {
    tags: [r.tag],
    summary: r.summary,
    operationId: `${r.method}${r.path.replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
    responses: {
      [r.status ? String(r.status) : r.method === 'post' && r.returns ? '201' : '200']: {
        description: r.status === 202 ? 'Accepted: runs in the background' : 'OK',
        content: r.path === '/healthz' ? { 'text/plain': { schema: { type: 'string' } } } : { 'application/json': { schema: r.returns ? ref(r.returns) : { type: 'object' } } },
      },
      ...(r.body ? { '400': { description: 'Invalid body', content: { 'application/json': { schema: ref('ApiResponse') } } } } : {}),
      ...(r.auth !== 'none' ? { '401': { description: 'Not authenticated', content: { 'application/json': { schema: ref('ApiResponse') } } } } : {}),
      ...(r.status === 202 ? { '409': { description: 'Already running', content: { 'application/json': { schema: ref('ApiResponse') } } } } : {}),
      ...(r.path.includes('{') && r.auth === 'admin' ? { '404': { description: 'Not Found', content: { 'application/json': { schema: ref('ApiResponse') } } } } : {}),
      ...(r.permission ? { '403': { description: `Requires the ${r.permission} permission`, content: { 'application/json': { schema: ref('ApiResponse') } } } } : {}),
    },
  };
  if (params.length || query.length) op.parameters = [...params, ...query];
  if (r.body) op.requestBody = { required: true, content: { 'application/json': { schema: r.body !== 'any' ? ref(r.body) : r.bodySchema ? ref(r.bodySchema) : { type: 'object' } } } };
  if (r.auth === 'admin' || r.auth === 'user') op.security = [{ BearerAuth: [] }, ...(r.auth === 'admin' ? [{ APIKeyAuth: [] }] : [])];
  else if (r.auth === 'basic') op.security = [{ BasicAuth: [] }];
  // A share link is open, or asks for its password by HTTP Basic (any username).
  else if (r.auth === 'share') op.security = [{}, { BasicAuth: [] }];
  else op.security = [];
  if (r.permission) op['x-sftpgo-permission'] = r.permission;
  // What an admin limited to a role gets here: refused, the route as is, or only its role's users.
  if (r.auth === 'admin') op['x-role-admins'] = r.roleAdmins ?? 'refused';
  return op;
}

/** Definitions that only users, folders and groups use: their secrets are SFTPGo's objects on the API. */
const SHAPED = ['User', 'Folder', 'Group', 'GroupUserSettings', 'VirtualFolder', 'UserFilters', 'Filesystem', 'S3Config', 'GCSConfig', 'AzBlobConfig', 'CryptConfig', 'SFTPFsConfig'];

const int = (description: string): Json => ({ type: 'integer', readOnly: true, description });

/**
 * The config definitions as the users and folders API speaks them (api/shapes.ts): secrets are
 * SFTPGo's objects, providers come out as numbers, and the read-only fields a GET adds (ignored
 * when sent back) are listed.
 */
function apiShapes(defs: Record<string, Json>): Record<string, Json> {
  const out: Record<string, Json> = { ...defs };
  for (const name of SHAPED)
    out[name] = JSON.parse(JSON.stringify(defs[name]).replaceAll('"#/components/schemas/Secret"', '"#/components/schemas/ApiSecret"')) as Json;
  const props = (name: string) => out[name]!.properties as Json;
  const usage = { used_quota_size: int('Bytes used'), used_quota_files: int('Files used'), last_quota_update: int('Unix ms of the last quota update') };
  const ours = {
    source: { enum: ['config', 'runtime'], readOnly: true, description: 'Ours: who owns the record (the YAML or the API)' },
    overrides: { type: 'object', readOnly: true, description: "Ours: the API's changes kept on top of a YAML-declared record" },
  };
  Object.assign(props('User'), {
    ...ours, ...usage, id: int('Record id'), created_at: int('Unix ms'), updated_at: int('Unix ms'),
    has_password: { type: 'boolean', readOnly: true },
    used_upload_data_transfer: int('Bytes uploaded since the last reset'), used_download_data_transfer: int('Bytes downloaded since the last reset'),
  });
  const names = (description: string): Json => ({ type: 'array', items: { type: 'string' }, readOnly: true, description });
  Object.assign(props('Folder'), { ...ours, ...usage, id: int('Record id'), users: names('Users that mount it'), groups: names('Groups that mount it') });
  Object.assign(props('Group'), { ...ours, id: int('Record id'), created_at: int('Unix ms'), updated_at: int('Unix ms'), users: names('Users mapped to it (any type)') });
  Object.assign(props('VirtualFolder'), {
    ...usage, id: int("The folder's id"),
    mapped_path: { type: 'string', readOnly: true, description: "The folder's own, embedded in a GET" },
    description: { type: 'string', readOnly: true, description: "The folder's own, embedded in a GET" },
    filesystem: { $ref: '#/components/schemas/Filesystem', readOnly: true, description: "The folder's own, embedded in a GET" },
  });
  const s3 = props('S3Config');
  s3.session_token = { ...(s3.session_token as Json), writeOnly: true, description: 'Never shown (a plain string in SFTPGo); kept by a PUT that leaves it out' };
  const fs = props('Filesystem');
  fs.provider = { ...(fs.provider as Json), description: 'Responses carry the number: 0 local, 1 S3, 2 GCS, 3 Azure Blob, 4 encrypted, 5 SFTP (SFTPGo\'s 6, HTTP, is not supported). Names are accepted on input.' };
  return out;
}

let cached: Json | undefined;

export function openApiDocument(): Json {
  if (cached) return cached;
  const paths: Record<string, Json> = {};
  for (const r of ROUTES) (paths[r.path] ??= {})[r.method] = operation(r);
  cached = {
    openapi: '3.1.0',
    info: { title: 'SFTPGo-TS REST API', version: pkg.version, description: 'SFTPGo-compatible admin API. Changes to config-declared resources are stored as overrides.' },
    servers: [{ url: '/' }],
    paths,
    components: {
      schemas: { ...apiShapes(toOpenApiSchema(schema.definitions) as Record<string, Json>), ...API_SCHEMAS },
      securitySchemes: {
        BasicAuth: { type: 'http', scheme: 'basic' },
        BearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        APIKeyAuth: { type: 'apiKey', in: 'header', name: 'X-SFTPGO-API-KEY' },
      },
    },
  };
  return cached;
}
