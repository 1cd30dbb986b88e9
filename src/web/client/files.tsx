/** @jsxImportSource hono/jsx */
// The web client's file browser: a directory page by page, breadcrumbs, uploads (the script's XHR
// posts the raw body to /files/upload, streamed through the user API's uploadRaw), downloads (one
// file with ranges, or a selection as one streamed zip), folders, rename, move, copy, delete,
// previews and the small-text editor. Every operation is the user API's own handler run in a
// session of the user (kit.inSession), so permissions, patterns, quotas, bandwidth and actions
// are the core's.
import { posix } from 'node:path';
import type { Hono } from 'hono';
import type { FC } from 'hono/jsx';
import type { Env } from '../../api/app.ts';
import { copyEntry, createDir, deleteDir, deleteFile, getFile, receive, renameEntry, reply, attempt, uploadRaw } from '../../api/user-files.ts';
import { streamZip } from '../../api/user-zip.ts';
import { contentTypeOf } from '../../lib/mime.ts';
import { Csrf } from '../layout.tsx';
import { BASE, filesHref, flashOf, formList, formText, type Kit, type Visit } from './app.tsx';
import { humanSize } from '../format.ts';

/** Entries on one page of a listing. */
export const PAGE_SIZE = 100;
/** SFTPGo's limit for the text editor (and here for text previews too). */
export const MAX_EDIT_BYTES = 2 * 1024 * 1024;

const INLINE_TYPES: ReadonlySet<string> = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'application/pdf']);
const TEXT_TYPES: ReadonlySet<string> = new Set(['application/json', 'application/xml', 'application/yaml', 'text/javascript']);

export type PreviewKind = 'text' | 'image' | 'pdf' | 'none';

/** How a file is previewed, from its name (SVG and HTML are never shown inline: they can carry script). */
export function previewKind(name: string): PreviewKind {
  const type = contentTypeOf(name);
  if (type === 'application/pdf') return 'pdf';
  if (INLINE_TYPES.has(type)) return 'image';
  if ((type.startsWith('text/') && type !== 'text/html') || TEXT_TYPES.has(type) || type === 'application/octet-stream' && /^(readme|license|makefile|dockerfile)$|\.(log|conf|ini|cfg|toml|env|go|py|rs|c|h|java|rb|sql)$/i.test(name)) return 'text';
  return 'none';
}

interface Entry {
  name: string;
  dir: boolean;
  size: number;
  mtimeMs: number;
}

function when(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
}

const q = (path: string, page: string, extra: Record<string, string> = {}) => `${BASE}/${page}?${new URLSearchParams({ path, ...extra })}`;

const Breadcrumbs: FC<{ dir: string }> = ({ dir }) => {
  const parts = dir.split('/').filter(Boolean);
  return (
    <nav class="crumbs" aria-label="breadcrumbs">
      <a href={filesHref('/')}>Home</a>
      {parts.map((p, i) => (
        <>
          <span class="sep">/</span>
          {i === parts.length - 1 ? <span>{p}</span> : <a href={filesHref(`/${parts.slice(0, i + 1).join('/')}`)}>{p}</a>}
        </>
      ))}
    </nav>
  );
};

interface ListingProps {
  dir: string;
  entries: Entry[];
  page: number;
  pages: number;
  total: number;
  csrf: string;
}

const Listing: FC<ListingProps> = (p) => {
  const full = (name: string) => posix.join(p.dir, name);
  return (
    <>
      <h1>Files</h1>
      <Breadcrumbs dir={p.dir} />
      <div class="toolbar">
        <form method="post" action={`${BASE}/dirs`} id="mkdir">
          <Csrf token={p.csrf} />
          <input type="hidden" name="dir" value={p.dir} />
          <input type="text" name="name" placeholder="new folder name" aria-label="new folder name" required />
          <button class="secondary" type="submit">Create folder</button>
        </form>
        <div id="upload" data-dir={p.dir} data-csrf={p.csrf} data-action={`${BASE}/files/upload`} data-exists={`${BASE}/files/exists`} data-state="idle">
          <div id="dropzone">
            Drop files here or <label>choose files <input type="file" id="upload-input" multiple /></label>
          </div>
          <progress id="upload-progress" max="100" value="0" aria-label="upload progress"></progress>
          <span id="upload-status" data-upload-status></span>
        </div>
      </div>
      <form id="zipform" method="post" action={`${BASE}/downloadzip`} class="actions">
        <Csrf token={p.csrf} />
        <input type="hidden" name="dir" value={p.dir} />
        <button class="secondary" type="submit">Download selected as zip</button>
        <span class="note">{p.total} {p.total === 1 ? 'entry' : 'entries'}</span>
      </form>
      <table id="files">
        <thead>
          <tr>
            <th><input type="checkbox" id="select-all" aria-label="select all" /></th>
            <th>Name</th>
            <th class="num">Size</th>
            <th>Modified (UTC)</th>
            <th>Actions</th>
          </tr>
        </thead>
        <tbody>
          {p.entries.map((e) => (
            <tr data-name={e.name} data-type={e.dir ? 'dir' : 'file'}>
              <td><input type="checkbox" name="paths" value={full(e.name)} form="zipform" aria-label={`select ${e.name}`} /></td>
              <td>{e.dir ? <a href={filesHref(full(e.name))}>{e.name}/</a> : <a href={q(full(e.name), 'file')}>{e.name}</a>}</td>
              <td class="num" data-size={e.dir ? '' : String(e.size)}>{e.dir ? '' : humanSize(e.size)}</td>
              <td class="when">{when(e.mtimeMs)}</td>
              <td class="acts">
                {!e.dir && previewKind(e.name) !== 'none' && <a href={q(full(e.name), 'viewfile')}>View</a>}
                {!e.dir && previewKind(e.name) === 'text' && e.size <= MAX_EDIT_BYTES && <a href={q(full(e.name), 'editfile')}>Edit</a>}
                <a href={q(full(e.name), 'file-actions')}>Rename / move / copy</a>
                <a href={q(full(e.name), 'shares/add')}>Share</a>
                <form method="post" action={`${BASE}/file-actions/delete`} data-confirm={`Delete ${e.name}${e.dir ? ' and everything in it' : ''}?`}>
                  <Csrf token={p.csrf} />
                  <input type="hidden" name="path" value={full(e.name)} />
                  <input type="hidden" name="kind" value={e.dir ? 'dir' : 'file'} />
                  <button class="danger" type="submit">Delete</button>
                </form>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {p.pages > 1 && (
        <nav class="pager" aria-label="pages">
          {p.page > 1 && <a href={filesHref(p.dir, 1)}>First</a>}
          {p.page > 1 && <a href={filesHref(p.dir, p.page - 1)} rel="prev">Previous</a>}
          <span id="page-of">Page {p.page} of {p.pages}</span>
          {p.page < p.pages && <a href={filesHref(p.dir, p.page + 1)} rel="next">Next</a>}
          {p.page < p.pages && <a href={filesHref(p.dir, p.pages)}>Last</a>}
        </nav>
      )}
    </>
  );
};

/** A page's status for a refused user API answer. */
function statusOf(res: Response): 400 | 403 | 404 {
  return res.status === 404 ? 404 : res.status === 403 ? 403 : 400;
}

/** The body of a response as text, when it is not larger than `max` bytes (undefined otherwise). */
async function textUpTo(res: Response, max: number): Promise<string | undefined> {
  const length = Number(res.headers.get('content-length') ?? '0');
  if (length > max) {
    await res.body?.cancel().catch(() => undefined);
    return undefined;
  }
  return res.text();
}

export function mountFiles(web: Hono<Env>, kit: Kit): void {
  const cleanDir = (raw: string | undefined) => posix.normalize(`/${raw ?? ''}`).replace(/(.)\/$/, '$1');
  const parentHref = (path: string) => filesHref(posix.dirname(cleanDir(path)));
  const problem = (v: Visit, title: string, text: string, status: 400 | 403 | 404 = 400) =>
    kit.send(v, title, <><h1>{title}</h1><p class="flash error" role="alert">{text}</p><p><a href={filesHref('/')}>Back to your files</a></p></>, status);

  web.get('/files', async (c) => {
    const v = await kit.visit(c);
    if (v instanceof Response) return v;
    const dir = cleanDir(c.req.query('path'));
    const pageNo = Math.max(1, Math.floor(Number(c.req.query('page') ?? 1)) || 1);
    return kit.inSession(v, {}, async (ctx) => {
      const entries: Entry[] = [];
      try {
        for await (const e of await ctx.conn!.fs.openDir(dir)) entries.push({ name: e.name, dir: e.type === 'dir', size: e.size, mtimeMs: e.mtimeMs });
      } catch (err) {
        const f = await flashOf(await attempt(ctx, `Unable to list "${dir}"`, () => Promise.reject(err)));
        return problem(v, 'Not listed', f.text, 404);
      }
      entries.sort((a, b) => (a.dir === b.dir ? (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) : a.dir ? -1 : 1));
      const pages = Math.max(1, Math.ceil(entries.length / PAGE_SIZE));
      const page = Math.min(pageNo, pages);
      const shown = entries.slice((page - 1) * PAGE_SIZE, page * PAGE_SIZE);
      return kit.send(v, dir === '/' ? 'Files' : `Files: ${dir}`, <Listing dir={dir} entries={shown} page={page} pages={pages} total={entries.length} csrf={v.session.csrf} />);
    });
  });

  // The upload script's endpoint: the raw body of one file, as POST /api/v2/user/files/upload.
  web.post('/files/upload', async (c) => {
    const v = await kit.scripted(c);
    if (v instanceof Response) return v;
    return kit.inSession(v, {}, uploadRaw);
  });

  // Whether an upload would replace a file (the script asks the user first): `{exists}`.
  web.get('/files/exists', async (c) => {
    const v = await kit.visit(c, { json: true });
    if (v instanceof Response) return v;
    return kit.inSession(v, {}, async (ctx) => {
      // stat checks the list permission and the file patterns: what the user may not see is not there.
      const exists = await ctx.conn!.fs.stat(ctx.conn!.fs.path(c.req.query('path') ?? '', '/')).then(
        () => true,
        () => false,
      );
      return ctx.c.json({ exists });
    });
  });

  // One file: attachment by default; inline only for types a browser shows without running code.
  web.get('/file', async (c) => {
    const v = await kit.visit(c);
    if (v instanceof Response) return v;
    const path = c.req.query('path') ?? '';
    const inline = c.req.query('inline') === '1';
    const kind = previewKind(path);
    const res = await kit.inSession(v, { params: { path, inline: inline && kind !== 'none' ? 'true' : '' } }, getFile);
    if (res.ok && inline && kind === 'text') res.headers.set('Content-Type', 'text/plain; charset=utf-8');
    // A file from the user's tree is never a page of this origin: no script, no plugin but PDF's.
    res.headers.set('Content-Security-Policy', `default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'self'${kind === 'pdf' ? '' : '; sandbox'}`);
    res.headers.set('X-Content-Type-Options', 'nosniff');
    return res;
  });

  web.post('/downloadzip', async (c) => {
    const p = await kit.posted(c);
    if (p instanceof Response) return p;
    const { v, form } = p;
    const paths = formList(form, 'paths');
    if (paths.length === 0) return kit.flashTo(v, filesHref(cleanDir(formText(form, 'dir'))), { kind: 'error', text: 'Select the files to download first.' });
    const res = await kit.inSession(v, { body: paths }, streamZip);
    if (res.ok) return res;
    return kit.flashTo(v, filesHref(cleanDir(formText(form, 'dir'))), await flashOf(res));
  });

  web.post('/dirs', async (c) => {
    const p = await kit.posted(c);
    if (p instanceof Response) return p;
    const { v, form } = p;
    const dir = cleanDir(formText(form, 'dir'));
    const name = formText(form, 'name').trim();
    if (!name || name.includes('/') || name === '.' || name === '..') return kit.flashTo(v, filesHref(dir), { kind: 'error', text: 'A folder name cannot be empty or hold a "/".' });
    const res = await kit.inSession(v, { params: { path: posix.join(dir, name) } }, createDir);
    return kit.flashTo(v, filesHref(dir), await flashOf(res));
  });

  web.get('/file-actions', async (c) => {
    const v = await kit.visit(c);
    if (v instanceof Response) return v;
    const path = cleanDir(c.req.query('path'));
    if (path === '/') return problem(v, 'Nothing to change', 'The root folder cannot be renamed, moved or copied.');
    const name = posix.basename(path);
    const csrf = v.session.csrf;
    return kit.send(
      v,
      `Change ${name}`,
      <>
        <h1>{name}</h1>
        <Breadcrumbs dir={path} />
        <form class="stack" method="post" action={`${BASE}/file-actions/rename`} id="rename">
          <Csrf token={csrf} />
          <input type="hidden" name="path" value={path} />
          <label>New name<input type="text" name="name" value={name} required /></label>
          <button type="submit">Rename</button>
        </form>
        <h2>Move or copy</h2>
        <form class="stack" method="post" action={`${BASE}/file-actions/move`} id="move">
          <Csrf token={csrf} />
          <input type="hidden" name="path" value={path} />
          <label>Move to (the full new path)<input type="text" name="target" value={path} required /></label>
          <button type="submit">Move</button>
        </form>
        <form class="stack" method="post" action={`${BASE}/file-actions/copy`} id="copy">
          <Csrf token={csrf} />
          <input type="hidden" name="path" value={path} />
          <label>Copy to (the full new path; end it with "/" to copy into a folder)<input type="text" name="target" value={`${path}.copy`} required /></label>
          <button type="submit">Copy</button>
        </form>
      </>,
    );
  });

  web.post('/file-actions/:action{rename|move|copy|delete}', async (c) => {
    const p = await kit.posted(c);
    if (p instanceof Response) return p;
    const { v, form } = p;
    const path = cleanDir(formText(form, 'path'));
    const action = c.req.param('action');
    let res: Response;
    if (action === 'delete') res = await kit.inSession(v, { params: { path } }, formText(form, 'kind') === 'dir' ? deleteDir : deleteFile);
    else if (action === 'rename') {
      const name = formText(form, 'name').trim();
      if (!name || name.includes('/')) return kit.flashTo(v, parentHref(path), { kind: 'error', text: 'A name cannot be empty or hold a "/".' });
      res = await kit.inSession(v, { params: { path, target: posix.join(posix.dirname(path), name) } }, renameEntry);
    } else {
      const target = formText(form, 'target').trim();
      if (!target) return kit.flashTo(v, parentHref(path), { kind: 'error', text: 'Give the target path.' });
      res = await kit.inSession(v, { params: { path, target: target.startsWith('/') ? target : `/${target}` } }, action === 'move' ? renameEntry : copyEntry);
    }
    return kit.flashTo(v, parentHref(path), await flashOf(res));
  });

  web.get('/viewfile', async (c) => {
    const v = await kit.visit(c);
    if (v instanceof Response) return v;
    const path = cleanDir(c.req.query('path'));
    const kind = previewKind(path);
    const name = posix.basename(path);
    const src = q(path, 'file', { inline: '1' });
    let body;
    if (kind === 'image') body = <img src={src} alt={name} id="preview-image" />;
    else if (kind === 'pdf') body = <object data={src} type="application/pdf" id="preview-pdf"><p><a href={src}>Open {name}</a></p></object>;
    else if (kind === 'text') {
      const res = await kit.inSession(v, { params: { path } }, getFile);
      if (!res.ok) return problem(v, 'No preview', (await flashOf(res)).text, statusOf(res));
      const text = await textUpTo(res, MAX_EDIT_BYTES);
      body = text === undefined ? <p class="note">Larger than {humanSize(MAX_EDIT_BYTES)}: download it to read it.</p> : <pre id="preview-text">{text}</pre>;
    } else body = <p class="note">No preview for this kind of file.</p>;
    return kit.send(
      v,
      name,
      <>
        <h1>{name}</h1>
        <Breadcrumbs dir={path} />
        <p class="actions"><a class="button" href={q(path, 'file')}>Download</a><a class="button secondary" href={parentHref(path)}>Back</a></p>
        <div class="preview">{body}</div>
      </>,
    );
  });

  web.get('/editfile', async (c) => {
    const v = await kit.visit(c);
    if (v instanceof Response) return v;
    const path = cleanDir(c.req.query('path'));
    const res = await kit.inSession(v, { params: { path } }, getFile);
    if (!res.ok) return problem(v, 'Not editable', (await flashOf(res)).text, statusOf(res));
    const text = await textUpTo(res, MAX_EDIT_BYTES);
    if (text === undefined) return problem(v, 'Not editable', `This file is larger than ${humanSize(MAX_EDIT_BYTES)}: it cannot be edited here.`);
    return kit.send(
      v,
      `Edit ${posix.basename(path)}`,
      <>
        <h1>Edit {posix.basename(path)}</h1>
        <Breadcrumbs dir={path} />
        <form class="stack wide" method="post" action={`${BASE}/editfile`} id="editor">
          <Csrf token={v.session.csrf} />
          <input type="hidden" name="path" value={path} />
          <input type="hidden" name="eol" value={text.includes('\r\n') ? 'crlf' : 'lf'} />
          <textarea class="editor" name="content" spellcheck={false}>{text}</textarea>
          <button type="submit">Save</button>
        </form>
      </>,
    );
  });

  web.post('/editfile', async (c) => {
    const p = await kit.posted(c);
    if (p instanceof Response) return p;
    const { v, form } = p;
    const path = cleanDir(formText(form, 'path'));
    // A browser posts a textarea with CRLF line ends: a file that had LF keeps LF.
    let content = formText(form, 'content');
    if (formText(form, 'eol') !== 'crlf') content = content.replace(/\r\n/g, '\n');
    const bytes = Buffer.from(content, 'utf8');
    if (bytes.length > MAX_EDIT_BYTES) return kit.flashTo(v, parentHref(path), { kind: 'error', text: `Not saved: the text is larger than ${humanSize(MAX_EDIT_BYTES)}.` });
    const res = await kit.inSession(v, { params: { path } }, (ctx) =>
      attempt(ctx, `Unable to save "${path}"`, async () => {
        await receive(ctx.conn!, ctx.conn!.fs.path(path, '/'), (async function* () {
          yield bytes;
        })());
        return reply(ctx, 200, `File "${path}" saved`);
      }),
    );
    return kit.flashTo(v, parentHref(path), await flashOf(res));
  });
}
