/** @jsxImportSource hono/jsx */
// The public share pages as components: the password form, a shared directory's listing, the
// download page of files, the upload form and the one-line answers. They render only; the share
// was checked and its owner's session opened before (app.tsx).
import type { FC, PropsWithChildren } from 'hono/jsx';
import type { FileInfo, ShareRecord } from '../../api/share-routes.ts';
import { Csrf } from '../layout.tsx';
import { humanSize } from '../format.ts';

export const SHARES_BASE = '/web/client/pubshares';

export function shareHref(id: string, tail = '', query?: Record<string, string>): string {
  const q = query ? `?${new URLSearchParams(query)}` : '';
  return `${SHARES_BASE}/${encodeURIComponent(id)}${tail}${q}`;
}

function when(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

/** The share's title, description and the logout button of a password-protected share. */
const ShareHead: FC<PropsWithChildren<{ share: ShareRecord; csrf: string; loggedIn: boolean }>> = (p) => (
  <>
    <h1>{p.share.name}</h1>
    {p.share.description && <p class="note">{p.share.description}</p>}
    {p.children}
    {p.loggedIn && (
      <form method="post" action={shareHref(p.share.id, '/logout')}>
        <Csrf token={p.csrf} />
        <button class="secondary" type="submit">Leave this share</button>
      </form>
    )}
  </>
);

export const ShareLoginPage: FC<{ id: string; csrf: string; next: string; error?: string }> = (p) => (
  <div class="login">
    <h1>Shared files</h1>
    <p class="note">This share is protected by a password.</p>
    {p.error && <div class="flash error" role="alert">{p.error}</div>}
    <form class="stack" method="post" action={shareHref(p.id, '/login', { next: p.next })}>
      <Csrf token={p.csrf} />
      <label>Password<input type="password" name="share_password" autocomplete="current-password" required autofocus /></label>
      <button type="submit">Open</button>
    </form>
  </div>
);

export const DownloadPage: FC<{ share: ShareRecord; single: boolean; csrf: string; loggedIn: boolean }> = (p) => (
  <ShareHead share={p.share} csrf={p.csrf} loggedIn={p.loggedIn}>
    <ul id="shared-paths">
      {p.share.paths.map((path) => (
        <li><code>{path}</code></li>
      ))}
    </ul>
    <p class="actions">
      <a class="button" id="download" href={shareHref(p.share.id, '', p.single ? { compress: 'false' } : undefined)}>{p.single ? 'Download' : 'Download as ZIP'}</a>
    </p>
  </ShareHead>
);

export const BrowsePage: FC<{ share: ShareRecord; path: string; entries: FileInfo[]; csrf: string; loggedIn: boolean }> = (p) => {
  const join = (name: string) => (p.path === '/' ? `/${name}` : `${p.path}/${name}`);
  const parent = p.path === '/' ? undefined : p.path.slice(0, p.path.lastIndexOf('/')) || '/';
  return (
    <ShareHead share={p.share} csrf={p.csrf} loggedIn={p.loggedIn}>
      <p class="note">Folder <code id="current-path">{p.path}</code></p>
      <p class="actions">
        <a class="button secondary" href={shareHref(p.share.id)}>Download everything (ZIP)</a>
        {p.share.scope === 3 && <a class="button secondary" href={shareHref(p.share.id, '/upload')}>Upload files</a>}
      </p>
      <table id="entries">
        <thead><tr><th>Name</th><th>Size</th><th>Modified</th></tr></thead>
        <tbody>
          {parent !== undefined && (
            <tr><td><a href={shareHref(p.share.id, '/browse', { path: parent })}>..</a></td><td></td><td></td></tr>
          )}
          {p.entries.map((e) => (
            <tr data-name={e.name}>
              <td><a href={shareHref(p.share.id, '/browse', { path: join(e.name) })}>{e.type === 'dir' ? `${e.name}/` : e.name}</a></td>
              <td>{e.type === 'file' ? humanSize(e.size) : ''}</td>
              <td>{when(e.mtimeMs)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {p.entries.length === 0 && <p class="note">This folder is empty.</p>}
    </ShareHead>
  );
};

export const UploadPage: FC<{ share: ShareRecord; csrf: string; loggedIn: boolean; error?: string }> = (p) => (
  <ShareHead share={p.share} csrf={p.csrf} loggedIn={p.loggedIn}>
    {p.error && <div class="flash error" role="alert">{p.error}</div>}
    <form class="stack" method="post" action={shareHref(p.share.id, '/upload')} enctype="multipart/form-data">
      {/* First in the body: the token is checked before any file is read. */}
      <Csrf token={p.csrf} />
      <label>Files<input type="file" name="filenames" multiple required /></label>
      <button type="submit">Upload</button>
    </form>
  </ShareHead>
);

export const ShareMessage: FC<{ title: string; text: string; back?: { href: string; label: string } }> = (p) => (
  <>
    <h1>{p.title}</h1>
    <p id="message">{p.text}</p>
    {p.back && <p><a href={p.back.href}>{p.back.label}</a></p>}
  </>
);
