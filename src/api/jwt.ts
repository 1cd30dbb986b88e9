// Minimal HS256 JSON Web Tokens (RFC 7519) for /api/v2/token: sign and verify with node:crypto, no
// other algorithm accepted (a token saying `alg: none` or RS256 is refused).
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface Claims {
  sub: string;
  iat: number;
  exp: number;
  jti: string;
  aud: string[];
  [k: string]: unknown;
}

const HEADER = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));

function b64url(s: string | Buffer): string {
  return Buffer.from(s).toString('base64url');
}

export function signJwt(claims: Claims, key: Buffer): string {
  const body = `${HEADER}.${b64url(JSON.stringify(claims))}`;
  return `${body}.${createHmac('sha256', key).update(body).digest('base64url')}`;
}

/** The claims of a valid, unexpired token for `audience`, or undefined. */
export function verifyJwt(token: string, key: Buffer, audience: string, nowSec = Math.floor(Date.now() / 1000)): Claims | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const [h, p, s] = parts as [string, string, string];
  let header: { alg?: string };
  let claims: Claims;
  try {
    header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
    claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (header.alg !== 'HS256') return undefined;
  const want = createHmac('sha256', key).update(`${h}.${p}`).digest();
  const got = Buffer.from(s, 'base64url');
  if (got.length !== want.length || !timingSafeEqual(got, want)) return undefined;
  if (typeof claims.exp !== 'number' || claims.exp <= nowSec) return undefined;
  if (typeof claims.sub !== 'string' || !Array.isArray(claims.aud) || !claims.aud.includes(audience)) return undefined;
  return claims;
}
