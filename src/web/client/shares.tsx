/** @jsxImportSource hono/jsx */
// The web client's share pages: the user's share links with their public link, a copy button and
// a QR code of the link, and the forms that add, edit and delete them through the user API's share
// handlers (api/user-shares.ts), so validation, path checks and expiry limits are the API's.
import type { Hono } from 'hono';
import type { FC } from 'hono/jsx';
import { raw } from 'hono/html';
import type { Env } from '../../api/app.ts';
import { addUserShare, deleteUserShare, updateUserShare, userShare, userShares } from '../../api/user-shares.ts';
import { qrSvg } from '../../lib/qr.ts';
import { Csrf } from '../layout.tsx';
import { BASE, flashOf, formText, type Kit, type Posted, type Visit } from './app.tsx';

type Share = Record<string, unknown>;

const SCOPES: Record<number, string> = { 1: 'Read', 2: 'Write', 3: 'Read and write' };

/** The public link of a share, on the origin the browser used. */
export function shareLink(origin: string, id: string): string {
  return `${origin}${BASE}/pubshares/${encodeURIComponent(id)}`;
}

function day(ms: unknown): string {
  return typeof ms === 'number' && ms > 0 ? new Date(ms).toISOString().slice(0, 10) : '';
}

const lines = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string').join('\n') : '');

const ShareCard: FC<{ share: Share; link: string; csrf: string }> = ({ share, link, csrf }) => {
  const id = String(share.id);
  const tokens = Number(share.max_tokens ?? 0);
  return (
    <div class="share" data-share-id={id}>
      <div>
        <h2>{String(share.name)}</h2>
        {typeof share.description === 'string' && share.description && <p>{share.description}</p>}
        <p class="link">
          <code data-share-link>{link}</code>
          <button class="secondary" type="button" data-copy={link}>Copy link</button>
        </p>
        <p class="note">
          {SCOPES[Number(share.scope)]} · {lines(share.paths).split('\n').join(', ')}
          {share.password ? ' · password protected' : ''}
          {day(share.expires_at) ? ` · expires ${day(share.expires_at)}` : ''}
          {` · used ${Number(share.used_tokens ?? 0)}${tokens > 0 ? ` of ${tokens}` : ''} times`}
          {Array.isArray(share.allow_from) && share.allow_from.length ? ` · from ${share.allow_from.join(', ')}` : ''}
        </p>
        <div class="actions">
          <a class="button secondary" href={`${BASE}/shares/${encodeURIComponent(id)}/edit`}>Edit</a>
          <form method="post" action={`${BASE}/shares/${encodeURIComponent(id)}/delete`} data-confirm={`Delete the share ${String(share.name)}?`}>
            <Csrf token={csrf} />
            <button class="danger" type="submit">Delete</button>
          </form>
        </div>
      </div>
      <div class="qr" data-qr>{raw(qrSvg(link, { title: `QR code of ${link}` }))}</div>
    </div>
  );
};

interface FormValues {
  name: string;
  description: string;
  scope: string;
  paths: string;
  expires: string;
  max_tokens: string;
  allow_from: string;
  hasPassword: boolean;
}

const ShareForm: FC<{ action: string; csrf: string; values: FormValues; editing: boolean }> = ({ action, csrf, values, editing }) => (
  <form class="stack" method="post" action={action} id="share-form">
    <Csrf token={csrf} />
    <label>Name<input type="text" name="name" value={values.name} required /></label>
    <label>Description<input type="text" name="description" value={values.description} /></label>
    <label>
      Scope
      <select name="scope">
        {[1, 2, 3].map((s) => (
          <option value={String(s)} selected={values.scope === String(s)}>{SCOPES[s]}</option>
        ))}
      </select>
    </label>
    <label>Paths (one a line; a write scope takes one folder)<textarea name="paths" required>{values.paths}</textarea></label>
    <label>
      Password{editing && values.hasPassword ? ' (leave empty to keep the current one)' : ' (optional)'}
      <input type="password" name="password" autocomplete="new-password" />
    </label>
    {editing && values.hasPassword && (
      <fieldset><label><input type="checkbox" name="remove_password" value="1" /> remove the password</label></fieldset>
    )}
    <label>Expires on (optional, end of that day UTC)<input type="date" name="expires" value={values.expires} /></label>
    <label>Maximum uses (0: no limit)<input type="number" name="max_tokens" min="0" value={values.max_tokens} /></label>
    <label>Allowed from (optional, one network a line, e.g. 192.168.1.0/24)<textarea name="allow_from">{values.allow_from}</textarea></label>
    <button type="submit">{editing ? 'Save share' : 'Create share'}</button>
  </form>
);

function valuesOf(s: Share): FormValues {
  return {
    name: String(s.name ?? ''),
    description: typeof s.description === 'string' ? s.description : '',
    scope: String(s.scope ?? 1),
    paths: lines(s.paths),
    expires: day(s.expires_at),
    max_tokens: String(s.max_tokens ?? 0),
    allow_from: lines(s.allow_from),
    hasPassword: Boolean(s.password),
  };
}

/** The API body a posted share form stands for; `current` is the share being edited. */
function shareBody(form: Posted, current?: Share): Record<string, unknown> | string {
  const split = (name: string) => formText(form, name).split(/\r?\n/).map((x) => x.trim()).filter(Boolean);
  const expires = formText(form, 'expires');
  const expiresAt = expires ? Date.parse(`${expires}T23:59:59.999Z`) : 0;
  if (Number.isNaN(expiresAt)) return 'the expiration is not a date';
  const maxTokens = formText(form, 'max_tokens') === '' ? 0 : Number(formText(form, 'max_tokens'));
  if (!Number.isInteger(maxTokens)) return 'the maximum uses must be a whole number';
  const typed = formText(form, 'password');
  // An edit with no new password keeps the current one, unless asked to remove it.
  const password = typed !== '' ? typed : current && formText(form, 'remove_password') !== '1' ? current.password : '';
  return {
    name: formText(form, 'name').trim(),
    description: formText(form, 'description').trim(),
    scope: Number(formText(form, 'scope')),
    paths: split('paths'),
    password,
    expires_at: expiresAt,
    max_tokens: maxTokens,
    allow_from: split('allow_from'),
  };
}

export function mountShares(web: Hono<Env>, kit: Kit): void {
  const origin = (v: Visit) => new URL(v.c.req.url).origin;
  const formPage = (v: Visit, o: { values: FormValues; id?: string; error?: string; status?: 200 | 400 | 403 | 404 }) =>
    kit.send(
      v,
      o.id ? 'Edit share' : 'New share',
      <>
        <h1>{o.id ? 'Edit share' : 'New share'}</h1>
        {o.error && <div class="flash error" role="alert">{o.error}</div>}
        <ShareForm action={o.id ? `${BASE}/shares/${encodeURIComponent(o.id)}` : `${BASE}/shares`} csrf={v.session.csrf} values={o.values} editing={o.id !== undefined} />
      </>,
      o.status,
    );

  web.get('/shares', async (c) => {
    const v = await kit.visit(c);
    if (v instanceof Response) return v;
    const shares = await userShares({ runtime: kit.runtime }, v.user.username);
    return kit.send(
      v,
      'Shares',
      <>
        <h1>Shares</h1>
        <p><a class="button" href={`${BASE}/shares/add`}>New share</a></p>
        {shares.length === 0 && <p class="note">No shares yet: share a file or folder from the file list.</p>}
        {shares.map((s) => <ShareCard share={s} link={shareLink(origin(v), String(s.id))} csrf={v.session.csrf} />)}
      </>,
    );
  });

  web.get('/shares/add', async (c) => {
    const v = await kit.visit(c);
    if (v instanceof Response) return v;
    const path = c.req.query('path') ?? '';
    const name = path.split('/').filter(Boolean).at(-1) ?? '';
    return formPage(v, { values: { name, description: '', scope: '1', paths: path, expires: '', max_tokens: '0', allow_from: '', hasPassword: false } });
  });

  web.post('/shares', async (c) => {
    const p = await kit.posted(c);
    if (p instanceof Response) return p;
    const { v, form } = p;
    const body = shareBody(form);
    const values = { ...valuesOf(typeof body === 'string' ? {} : body), expires: formText(form, 'expires'), hasPassword: false };
    if (typeof body === 'string') return formPage(v, { values, error: body, status: 400 });
    const res = await kit.inSession(v, { body }, addUserShare);
    if (!res.ok) return formPage(v, { values, error: (await flashOf(res)).text, status: 400 });
    await res.body?.cancel();
    return kit.flashTo(v, `${BASE}/shares`, { kind: 'info', text: `Share ${String(body.name)} created.` });
  });

  const owned = async (v: Visit, id: string) => userShare({ runtime: kit.runtime }, v.user.username, id);

  web.get('/shares/:id/edit', async (c) => {
    const v = await kit.visit(c);
    if (v instanceof Response) return v;
    const id = c.req.param('id');
    const share = await owned(v, id);
    if (!share) return kit.flashTo(v, `${BASE}/shares`, { kind: 'error', text: 'No such share.' });
    return formPage(v, { id, values: valuesOf(share) });
  });

  web.post('/shares/:id', async (c) => {
    const p = await kit.posted(c);
    if (p instanceof Response) return p;
    const { v, form } = p;
    const id = c.req.param('id');
    const current = await owned(v, id);
    if (!current) return kit.flashTo(v, `${BASE}/shares`, { kind: 'error', text: 'No such share.' });
    const body = shareBody(form, current);
    const values = { ...valuesOf(typeof body === 'string' ? current : body), expires: formText(form, 'expires'), hasPassword: Boolean(current.password) };
    if (typeof body === 'string') return formPage(v, { id, values, error: body, status: 400 });
    const res = await kit.inSession(v, { body }, updateUserShare);
    if (!res.ok) return formPage(v, { id, values, error: (await flashOf(res)).text, status: 400 });
    await res.body?.cancel();
    return kit.flashTo(v, `${BASE}/shares`, { kind: 'info', text: `Share ${String(body.name)} saved.` });
  });

  web.post('/shares/:id/delete', async (c) => {
    const p = await kit.posted(c);
    if (p instanceof Response) return p;
    const res = await kit.call(p.v, {}, deleteUserShare);
    return kit.flashTo(p.v, `${BASE}/shares`, await flashOf(res));
  });
}
