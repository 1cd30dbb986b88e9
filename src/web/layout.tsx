/** @jsxImportSource hono/jsx */
// The page frame shared by the web interfaces: document head with the stylesheet, a header with
// the navigation and the logout form, the one-shot message, and the helpers every form uses.
import type { FC, PropsWithChildren } from 'hono/jsx';
import type { Context } from 'hono';
import type { Flash } from './sessions.ts';
import { setPageHeaders } from './security.ts';

export interface NavLink {
  href: string;
  label: string;
}

export interface FrameProps {
  title: string;
  /** The stylesheet's URL (each interface serves it under its own prefix). */
  stylesheet: string;
  brand: string;
  nav?: NavLink[];
  /** Shown with a logout button when someone is logged in. */
  who?: { name: string; logoutAction: string; csrf: string };
  flash?: Flash;
}

export const Frame: FC<PropsWithChildren<FrameProps>> = (p) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <title>{p.title} · {p.brand}</title>
      <link rel="stylesheet" href={p.stylesheet} />
    </head>
    <body>
      <header>
        <span class="brand">{p.brand}</span>
        <nav>
          {(p.nav ?? []).map((l) => (
            <a href={l.href}>{l.label}</a>
          ))}
        </nav>
        {p.who && (
          <form method="post" action={p.who.logoutAction}>
            <Csrf token={p.who.csrf} />
            <span class="note">{p.who.name} </span>
            <button class="secondary" type="submit">Log out</button>
          </form>
        )}
      </header>
      <main>
        {p.flash && <div class={`flash ${p.flash.kind}`} role={p.flash.kind === 'error' ? 'alert' : 'status'}>{p.flash.text}</div>}
        {p.children}
      </main>
    </body>
  </html>
);

/** The hidden field every form of a session posts back. */
export const Csrf: FC<{ token: string }> = ({ token }) => <input type="hidden" name="_csrf" value={token} />;

/** A form with one button that posts to `action` (state changes are never links). */
export const PostButton: FC<{ action: string; csrf: string; label: string; kind?: 'danger' | 'secondary'; name?: string }> = (p) => (
  <form method="post" action={p.action}>
    <Csrf token={p.csrf} />
    <button type="submit" class={p.kind ?? ''} name={p.name}>{p.label}</button>
  </form>
);

/** Sends a page with the security headers and a doctype. */
export async function sendPage(c: Context, page: { toString(): string | Promise<string> }, status: 200 | 400 | 401 | 403 | 404 | 409 | 429 = 200): Promise<Response> {
  setPageHeaders(c);
  return c.html(`<!DOCTYPE html>${await page.toString()}`, status);
}
