// Calls between replicas sharing a store, as SFTPGo makes them: one replica calls another's REST API
// with `X-SFTPGO-Node: Bearer <token>`, a one-minute HS256 token naming the admin it acts for, the
// one permission the call needs, the node it is for and the request (method and path) it allows.
// It is signed with the called replica's key, which the registry keeps sealed with the secrets key:
// only a replica of this store holding that key can make one. Each token is good once.
import { randomUUID } from 'node:crypto';
import type { ServerContext } from '../core/context.ts';
import type { Peer } from '../core/nodes.ts';
import { effectiveAdmin } from '../store/records.ts';
import { hasPermission, type AuthResult, type Permission } from './auth.ts';
import { signJwt, verifyJwt } from './jwt.ts';

export const NODE_TOKEN_HEADER = 'X-SFTPGO-Node';
const NODE_AUDIENCE = 'node';
const NODE_TOKEN_SECONDS = 60;
/** A replica that has not answered by then is skipped: a listing must not hang on a dead one. */
export const NODE_CALL_TIMEOUT_MS = 3000;

export interface NodeCall {
  method: 'GET' | 'DELETE';
  /** The URL path, encoded as sent (`/api/v2/connections/<id>`). */
  path: string;
  /** The admin the call acts for; the called replica re-reads it and applies its role. */
  admin: string;
  permission: Permission;
}

/** The token for one call to `peer`. */
export function nodeToken(peer: Peer, call: NodeCall & { from: string }, nowSec = Math.floor(Date.now() / 1000)): string {
  return signJwt(
    {
      sub: call.admin,
      iat: nowSec,
      nbf: nowSec,
      exp: nowSec + NODE_TOKEN_SECONDS,
      jti: randomUUID(),
      aud: [NODE_AUDIENCE],
      node: peer.name,
      from: call.from,
      permissions: [call.permission],
      req: `${call.method} ${call.path}`,
    },
    peer.key,
  );
}

export interface NodeRequest {
  runtime: ServerContext;
  /** The X-SFTPGO-Node header. */
  header: string;
  method: string;
  /** The request's URL path, as received (encoded). */
  path: string;
}

function refused(username: string, detail: string): AuthResult & { ok: false } {
  return { ok: false, status: 401, error: `the node token cannot be authenticated: ${detail}`, refused: { username, method: 'token', reason: 'invalid_node_token' } };
}

/**
 * The admin a replica's call acts for, with only the permissions its token carries (and the admin
 * still holds); the calling replica's name in `from`. The admin is re-read, so a disabled or
 * deleted one is refused here too; its allow list is not applied: the address is a replica's.
 */
export async function nodeLogin(r: NodeRequest): Promise<(AuthResult & { ok: false }) | { ok: true; result: AuthResult & { ok: true }; from: string }> {
  const { runtime } = r;
  if (!runtime.nodes.identity.shared) return refused('', 'this server shares no store');
  const token = /^Bearer\s+(.+)$/i.exec(r.header)?.[1]?.trim() ?? r.header.trim();
  const claims = verifyJwt(token, runtime.nodes.key, NODE_AUDIENCE);
  if (!claims) return refused('', 'bad signature, audience or expiry');
  if (claims.node !== runtime.nodes.identity.name) return refused(claims.sub, 'made for another node');
  if (claims.req !== `${r.method.toUpperCase()} ${r.path}`) return refused(claims.sub, 'made for another request');
  if (!(await runtime.revokedTokens.claim(claims.jti, claims.exp))) return refused(claims.sub, 'already used');
  const admin = await effectiveAdmin(runtime.store, claims.sub);
  if (!admin || admin.status !== 1) return refused(claims.sub, 'no such enabled admin');
  const wanted = Array.isArray(claims.permissions) ? claims.permissions.filter((p): p is Permission => typeof p === 'string') : [];
  const permissions = wanted.filter((p) => hasPermission(admin, p));
  return { ok: true, result: { ok: true, admin: { ...admin, permissions }, via: 'token' }, from: typeof claims.from === 'string' ? claims.from : '' };
}

/**
 * Makes `call` on `peer`; undefined when it did not answer in time (logged as unreachable, so the
 * caller goes on without it).
 */
export async function callPeer(runtime: ServerContext, peer: Peer, call: NodeCall): Promise<Response | undefined> {
  const from = runtime.nodes.identity.name;
  try {
    return await fetch(`${peer.url}${call.path}`, {
      method: call.method,
      headers: { [NODE_TOKEN_HEADER]: `Bearer ${nodeToken(peer, { ...call, from })}` },
      signal: AbortSignal.timeout(NODE_CALL_TIMEOUT_MS),
    });
  } catch (err) {
    runtime.log('warn', 'node_unreachable', { peer: peer.name, url: peer.url, request: `${call.method} ${call.path}`, error: (err as Error).message });
    return undefined;
  }
}
