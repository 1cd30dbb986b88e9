// The WebDAV server: one node:http or node:https listener per binding, CORS (preflights answered
// before authentication), Basic authentication with the verified-credentials cache, the mapping
// of requests to core Connections (sessions.ts) and the method table. Listeners and certificates
// stay as started on reload; users, CORS and cache settings follow the new config.
import { retryHeaders } from '../../core/rate-limiters.ts';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createSecureContext, type SecureContext } from 'node:tls';
import { isAbsolute, resolve } from 'node:path';
import type { Config } from '../../config/load.ts';
import type { WebdavBinding, Webdavd } from '../../config/schema-types.ts';
import type { LoginGate } from '../../core/gate.ts';
import { passwordChangeMessage } from '../../auth/password-age.ts';
import { openHttpDoor, type HttpDoor } from '../../core/http-door.ts';
import type { Log } from '../../log.ts';
import { AppError } from '../../errors.ts';
import { CredentialsCache } from '../../auth/credentials-cache.ts';
import { DEFAULT_CACHE_MINUTES, DEFAULT_CACHE_SIZE, parseBasic } from './auth.ts';
import { copyOrMove } from './copy-move.ts';
import { del, getOrHead, mkcol, put } from './files.ts';
import { lock, unlock } from './lock-methods.ts';
import { LockTable } from './locks.ts';
import { propfind, proppatch } from './propfind.ts';
import { DeadProperties } from './properties.ts';
import { bodyUnread, DavRequest, pathBelowPrefix, type DavShared } from './request.ts';
import { DavSessions } from './sessions.ts';
import { HttpError, sendError } from './status.ts';

const REALM = 'SFTPGo WebDAV';
const METHODS = ['OPTIONS', 'GET', 'HEAD', 'PUT', 'DELETE', 'MKCOL', 'COPY', 'MOVE', 'PROPFIND', 'PROPPATCH', 'LOCK', 'UNLOCK'];
const ALLOW = METHODS.join(', ');

type Handler = (r: DavRequest) => Promise<void>;
const HANDLERS: Record<string, Handler> = {
  OPTIONS: async (r) => {
    r.res.writeHead(200, { DAV: '1, 2', 'MS-Author-Via': 'DAV', Allow: ALLOW, 'Accept-Ranges': 'bytes', 'Content-Length': 0 });
    r.res.end();
  },
  GET: (r) => getOrHead(r, false),
  HEAD: (r) => getOrHead(r, true),
  PUT: put,
  DELETE: del,
  MKCOL: mkcol,
  COPY: (r) => copyOrMove(r, false),
  MOVE: (r) => copyOrMove(r, true),
  PROPFIND: propfind,
  PROPPATCH: proppatch,
  LOCK: lock,
  UNLOCK: unlock,
};

export interface WebdavServerOptions {
  config: Config;
  dataDir: string;
  gate: LoginGate;
  log: Log;
}

/** "/dav/" or "dav" -> "/dav"; "" or "/" -> "". */
export function normalizePrefix(p: string | undefined): string {
  const t = (p ?? '').trim().replace(/\/+$/, '');
  if (!t) return '';
  return t.startsWith('/') ? t : `/${t}`;
}

export class WebdavServer {
  #config: Config;
  readonly #listeners: HttpDoor[] = [];
  readonly #sessions: DavSessions;
  readonly #shared: DavShared = { locks: new LockTable(), props: new DeadProperties() };
  readonly #cache: CredentialsCache;
  #idleCheck = false;

  constructor(private readonly opts: WebdavServerOptions) {
    this.#config = opts.config;
    this.#sessions = new DavSessions(opts.gate);
    this.#cache = new CredentialsCache({ ttlMs: 0, maxSize: 0 });
    this.#configureCache();
  }

  get #webdavd(): Webdavd {
    return this.#config.webdavd ?? {};
  }

  #configureCache(): void {
    const c = this.#webdavd.cache?.users;
    // expiration_time is in minutes (as in SFTPGo); 0 keeps the default short TTL.
    const minutes = c?.expiration_time && c.expiration_time > 0 ? c.expiration_time : DEFAULT_CACHE_MINUTES;
    this.#cache.configure({ ttlMs: minutes * 60_000, maxSize: c?.max_size ?? DEFAULT_CACHE_SIZE });
  }

  async start(): Promise<void> {
    for (const [index, b] of (this.#webdavd.bindings ?? []).entries()) {
      if (!b.port) continue;
      // The HTTP server never listens itself: our listener admits each socket first (caps, PROXY
      // header) and hands it over, wrapped in TLS for an HTTPS binding.
      const server = createHttpServer();
      const tls = this.#secureContext(b, index);
      const prefix = normalizePrefix(b.prefix);
      server.on('request', (req: IncomingMessage, res: ServerResponse) => void this.#handle(req, res, prefix));
      const gate = this.opts.gate;
      const door = await openHttpDoor({
        sockets: gate.sockets,
        protocol: 'DAV',
        proxy: b.proxy_mode === 1,
        http: server,
        tls,
        host: b.address || '0.0.0.0',
        port: b.port,
        onClientError: (ip, err) => gate.protocolError({ ip, protocol: 'DAV', username: '', error: err.message }),
        onTlsError: (ip, err) => gate.protocolError({ ip, protocol: 'DAV', username: '', error: `TLS: ${err.message}` }),
        onListenerError: (err) => this.opts.log('error', 'webdav_listener_error', { error: err.message }),
      });
      this.#listeners.push(door);
      const addr = door.address;
      this.opts.log('info', 'webdav_listening', { address: addr.address, port: addr.port, https: !!b.enable_https, prefix: prefix || '/' });
    }
    this.opts.gate.connections.startIdleCheck(this.#config.common?.idle_timeout);
    this.#idleCheck = true;
  }

  /** The binding's TLS context when it serves HTTPS. */
  #secureContext(b: WebdavBinding, index: number): SecureContext | undefined {
    if (!b.enable_https) return undefined;
    const d = this.#webdavd;
    const certFile = b.certificate_file || d.certificate_file;
    const keyFile = b.certificate_key_file || d.certificate_key_file;
    if (!certFile || !keyFile) throw new AppError('config', `webdavd.bindings[${index}]: enable_https needs certificate_file and certificate_key_file`);
    const read = (p: string): Buffer => {
      const path = isAbsolute(p) ? p : resolve(this.opts.dataDir, p);
      try {
        return readFileSync(path);
      } catch (err) {
        throw new AppError('config', `webdavd: cannot read ${path}: ${(err as Error).message}`);
      }
    };
    try {
      return createSecureContext({ cert: read(certFile), key: read(keyFile), minVersion: b.min_tls_version === 13 ? 'TLSv1.3' : 'TLSv1.2' });
    } catch (err) {
      if (err instanceof AppError) throw err;
      throw new AppError('config', `webdavd: invalid certificate or key (${certFile}): ${(err as Error).message}`);
    }
  }

  async reload(config: Config): Promise<void> {
    this.#config = config;
    this.#configureCache();
  }

  async stop(): Promise<void> {
    await Promise.all(this.#listeners.splice(0).map((door) => door.close()));
    await this.#sessions.closeAll();
    if (this.#idleCheck) this.opts.gate.connections.releaseIdleCheck();
    this.#idleCheck = false;
  }

  /** CORS headers for an allowed Origin; true when the request was a preflight (already answered). */
  #cors(req: IncomingMessage, res: ServerResponse): boolean {
    const cors = this.#webdavd.cors;
    const origin = req.headers.origin;
    if (!cors?.enabled || !origin) return false;
    const origins = cors.allowed_origins ?? [];
    if (!origins.includes('*') && !origins.includes(origin)) return false;
    res.setHeader('Access-Control-Allow-Origin', origins.includes('*') && !cors.allow_credentials ? '*' : origin);
    res.setHeader('Vary', 'Origin');
    if (cors.allow_credentials) res.setHeader('Access-Control-Allow-Credentials', 'true');
    const preflight = req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined;
    if (!preflight) {
      if (cors.exposed_headers?.length) res.setHeader('Access-Control-Expose-Headers', cors.exposed_headers.join(', '));
      return false;
    }
    res.setHeader('Access-Control-Allow-Methods', (cors.allowed_methods?.length ? cors.allowed_methods : METHODS).join(', '));
    const reqHeaders = req.headers['access-control-request-headers'];
    const allowedHeaders = cors.allowed_headers?.length ? cors.allowed_headers.join(', ') : reqHeaders;
    if (allowedHeaders) res.setHeader('Access-Control-Allow-Headers', allowedHeaders);
    if (cors.max_age) res.setHeader('Access-Control-Max-Age', String(cors.max_age));
    res.writeHead(204, { 'Content-Length': 0 });
    res.end();
    return true;
  }

  async #handle(req: IncomingMessage, res: ServerResponse, prefix: string): Promise<void> {
    const started = Date.now();
    const ip = this.opts.gate.sockets.addressOf(req.socket);
    let username: string | undefined;
    res.on('finish', () => this.opts.log('debug', 'webdav_request', { ip, username, method: req.method, url: req.url, status: res.statusCode, ms: Date.now() - started }));
    try {
      if (this.#cors(req, res)) return;
      const vpath = pathBelowPrefix(requestPath(req.url ?? '/'), prefix);
      const handler = HANDLERS[req.method ?? ''];
      const gate = this.opts.gate;
      if (await gate.admit(req.socket, ip, 'DAV')) {
        res.destroy();
        return;
      }
      const retryAfterMs = await gate.limitRequest(ip, 'DAV');
      if (retryAfterMs !== undefined) {
        res.writeHead(429, { ...retryHeaders(retryAfterMs), 'Content-Type': 'text/plain' });
        res.end('rate limit exceeded\n');
        return;
      }
      const creds = parseBasic(req.headers.authorization);
      if (!creds) throw unauthorized();
      const attempt = { protocol: 'DAV' as const, ip, username: creds.username, method: 'password' as const };
      const outcome = await gate.authenticate(attempt, creds.password, this.#cache);
      if (!outcome.ok) {
        gate.refuse(attempt, outcome.reason);
        throw unauthorized(passwordChangeMessage(outcome.reason));
      }
      username = outcome.user.username;
      const settings = gate.settings();
      const client = { ip, tls: 'encrypted' in req.socket && req.socket.encrypted === true, userAgent: req.headers['user-agent'] };
      const acquired = await this.#sessions.acquire(outcome.user, client, settings, res);
      if ('refused' in acquired) throw unauthorized();
      try {
        if (!handler) throw new HttpError(405, `${req.method} is not supported`, undefined, { Allow: ALLOW });
        await handler(new DavRequest(req, res, acquired.session.conn, prefix, vpath, this.#shared));
      } finally {
        acquired.release();
      }
    } catch (err) {
      const code = (err as NodeJS.ErrnoException)?.code;
      if (res.destroyed || (err as Error)?.message === 'aborted' || code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE') {
        // The client went away (or an admin closed its connection): nobody to answer.
        this.opts.log('debug', 'webdav_client_gone', { ip, username, method: req.method, url: req.url, error: String((err as Error)?.message ?? err) });
        res.destroy();
        return;
      }
      // An answer sent before the body was read: the rest of it is not worth reading.
      if (bodyUnread(req) && !res.headersSent) res.setHeader('Connection', 'close');
      sendError(res, err, this.opts.log);
    }
  }
}

/** The path of an origin-form target, or of an absolute-form one ("http://host/path"). */
function requestPath(url: string): string {
  if (!/^https?:\/\//i.test(url)) return url;
  try {
    return new URL(url).pathname;
  } catch {
    throw new HttpError(400, 'bad request target');
  }
}

function unauthorized(message = 'authentication required'): HttpError {
  return new HttpError(401, message, undefined, { 'WWW-Authenticate': `Basic realm="${REALM}", charset="UTF-8"` });
}
