// The headers every web page carries: a strict Content-Security-Policy (no script at all, styles
// only from our own stylesheet, forms posting only to this origin, no framing), no caching of
// pages that show records, and the cookie attributes sessions use.
import type { Context } from 'hono';
import { setCookie, deleteCookie } from 'hono/cookie';

export const CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

export function setPageHeaders(c: Context): void {
  c.header('Content-Security-Policy', CONTENT_SECURITY_POLICY);
  c.header('X-Content-Type-Options', 'nosniff');
  c.header('X-Frame-Options', 'DENY');
  c.header('Referrer-Policy', 'same-origin');
  c.header('Cache-Control', 'no-store');
}

/** Whether the request came over a TLS binding: its cookies are then `Secure`. */
function overTls(c: Context): boolean {
  return new URL(c.req.url).protocol === 'https:';
}

/** An `HttpOnly`, `SameSite=Strict` session cookie scoped to `path`, `Secure` on TLS bindings. */
export function setSessionCookie(c: Context, o: { name: string; value: string; path: string; maxAgeSec?: number }): void {
  setCookie(c, o.name, o.value, { path: o.path, httpOnly: true, sameSite: 'Strict', secure: overTls(c), ...(o.maxAgeSec ? { maxAge: o.maxAgeSec } : {}) });
}

export function clearSessionCookie(c: Context, o: { name: string; path: string }): void {
  deleteCookie(c, o.name, { path: o.path, httpOnly: true, sameSite: 'Strict', secure: overTls(c) });
}
