/** @jsxImportSource hono/jsx */
// The admin's own profile page: two-factor enrolment (a new secret shown as a QR code of its
// otpauth:// URL and as text, a code checked against it before it is saved), recovery codes shown
// once when they are made, turning TOTP off, and a password change. Every write goes through the
// API's own functions (api/admin-totp.ts), so a YAML admin's change is an override there too.
import type { FC } from 'hono/jsx';
import type { Hono } from 'hono';
import type { Env } from '../../api/app.ts';
import { adminTotpAccount, changeAdminPassword, saveAdminTotp } from '../../api/admin-totp.ts';
import { adminAccount, adminTotpRequired, countUnusedCodes, renewRecoveryCodes } from '../../api/two-factor.ts';
import { newTotpSecret, passcodeFits } from '../../api/user-totp.ts';
import { isAppError } from '../../errors.ts';
import { qrSvg } from '../../lib/qr.ts';
import { Csrf, PostButton } from '../layout.tsx';
import type { Kit, Visit } from './app.tsx';
import { BASE } from './views.tsx';

const PROFILE = `${BASE}/profile`;

const ProfilePage: FC<{ username: string; totp: boolean; unused: number; fromConfig: boolean; csrf: string }> = (p) => (
  <>
    <h1>Profile of {p.username}</h1>
    <h2>Two-factor authentication</h2>
    {p.totp ? (
      <>
        <p id="totp-status">Enabled: a code from your authenticator app is asked after your password. <span id="unused-codes">{p.unused}</span> unused recovery codes.</p>
        <div class="actions">
          <PostButton action={`${PROFILE}/recovery-codes`} csrf={p.csrf} label="New recovery codes" kind="secondary" />
          <PostButton action={`${PROFILE}/totp/disable`} csrf={p.csrf} label="Turn two-factor authentication off" kind="danger" />
        </div>
      </>
    ) : (
      <>
        <p id="totp-status">Disabled: your password alone logs you in.</p>
        <PostButton action={`${PROFILE}/totp/generate`} csrf={p.csrf} label="Set up two-factor authentication" />
      </>
    )}
    {p.fromConfig && <p class="note">You are declared in the config: a change here is kept as an override on top of it.</p>}
    <h2>Password</h2>
    <form class="stack" method="post" action={`${PROFILE}/password`}>
      <Csrf token={p.csrf} />
      <label>Current password<input type="password" name="current_password" autocomplete="current-password" required /></label>
      <label>New password<input type="password" name="new_password" autocomplete="new-password" required /></label>
      <label>New password again<input type="password" name="new_password_again" autocomplete="new-password" required /></label>
      <button type="submit">Change password</button>
    </form>
  </>
);

const EnrolPage: FC<{ secret: string; url: string; csrf: string; error?: string }> = (p) => (
  <>
    <h1>Set up two-factor authentication</h1>
    <p>Scan this code with your authenticator app, or enter the secret by hand, then give the code the app shows.</p>
    {/* Our own SVG markup (lib/qr.ts): one path, no script and no inline style, so the CSP holds. */}
    <div id="totp-qr" class="qr" dangerouslySetInnerHTML={{ __html: qrSvg(p.url, { title: 'TOTP QR code' }) }} />
    <p>Secret: <code id="totp-secret">{p.secret}</code></p>
    {p.error && <div class="flash error" role="alert">{p.error}</div>}
    <form class="stack" method="post" action={`${PROFILE}/totp/save`}>
      <Csrf token={p.csrf} />
      <label>Code from the app<input type="text" name="passcode" autocomplete="one-time-code" required autofocus /></label>
      <button type="submit">Verify and turn on</button>
    </form>
  </>
);

const CodesPage: FC<{ codes: string[]; intro: string }> = (p) => (
  <>
    <h1>Recovery codes</h1>
    <p>{p.intro}</p>
    <p class="note">Each code logs you in once in place of a code from the app. Keep them somewhere safe: they are shown only now.</p>
    <ul id="recovery-codes">
      {p.codes.map((c) => (
        <li><code>{c}</code></li>
      ))}
    </ul>
    <p><a href={PROFILE}>Back to the profile</a></p>
  </>
);

/** The secrets being enrolled, per web session: kept on the server, never posted back by the browser. */
type Enrolling = Map<string, { secret: string; url: string }>;

export function mountProfile(web: Hono<Env>, kit: Kit): void {
  const { runtime } = kit;
  const enrolling: Enrolling = new Map();

  const profile = async (v: Visit) =>
    kit.send(v, 'Profile', <ProfilePage username={v.admin.username} totp={adminTotpRequired(v.admin)} unused={await countUnusedCodes(runtime, adminAccount(v.admin))} fromConfig={v.admin.source === 'config'} csrf={v.session.csrf} />);

  web.get('/profile', async (c) => {
    const v = await kit.visit(c);
    return v instanceof Response ? v : profile(v);
  });

  web.post('/profile/totp/generate', async (c) => {
    const p = await kit.posted(c);
    if (p instanceof Response) return p;
    enrolling.set(p.v.session.id, newTotpSecret(adminTotpAccount(p.v.admin.username)));
    return kit.flashTo(p.v, `${PROFILE}/totp`, { kind: 'info', text: 'A new secret was made: it is saved once a code from it is verified.' });
  });

  web.get('/profile/totp', async (c) => {
    const v = await kit.visit(c);
    if (v instanceof Response) return v;
    const e = enrolling.get(v.session.id);
    if (!e) return kit.flashTo(v, PROFILE, { kind: 'error', text: 'Start the set-up again.' });
    return kit.send(v, 'Two-factor authentication', <EnrolPage secret={e.secret} url={e.url} csrf={v.session.csrf} />);
  });

  web.post('/profile/totp/save', async (c) => {
    const p = await kit.posted(c);
    if (p instanceof Response) return p;
    const { v, form } = p;
    const e = enrolling.get(v.session.id);
    if (!e) return kit.flashTo(v, PROFILE, { kind: 'error', text: 'Start the set-up again.' });
    if (!passcodeFits(e.secret, form.passcode))
      return kit.send(v, 'Two-factor authentication', <EnrolPage secret={e.secret} url={e.url} csrf={v.session.csrf} error="That code does not match: check the app's clock and try the next code." />, 400);
    const codes = await saveAdminTotp(runtime, v.admin, { enabled: true, secret: e.secret }, v.admin.username);
    enrolling.delete(v.session.id);
    runtime.log('info', 'web_change', { action: 'totp_enabled', kind: 'admin', name: v.admin.username, by: v.admin.username });
    if (!codes) return kit.flashTo(v, PROFILE, { kind: 'info', text: 'Two-factor authentication is on. Your earlier recovery codes still work.' });
    return kit.send(v, 'Recovery codes', <CodesPage codes={codes} intro="Two-factor authentication is on." />);
  });

  web.post('/profile/totp/disable', async (c) => {
    const p = await kit.posted(c);
    if (p instanceof Response) return p;
    await saveAdminTotp(runtime, p.v.admin, { enabled: false }, p.v.admin.username);
    runtime.log('info', 'web_change', { action: 'totp_disabled', kind: 'admin', name: p.v.admin.username, by: p.v.admin.username });
    return kit.flashTo(p.v, PROFILE, { kind: 'info', text: 'Two-factor authentication is off; your recovery codes are gone.' });
  });

  web.post('/profile/recovery-codes', async (c) => {
    const p = await kit.posted(c);
    if (p instanceof Response) return p;
    const { v } = p;
    if (!adminTotpRequired(v.admin)) return kit.flashTo(v, PROFILE, { kind: 'error', text: 'Recovery codes need two-factor authentication on.' });
    const codes = await renewRecoveryCodes(runtime, adminAccount(v.admin));
    return kit.send(v, 'Recovery codes', <CodesPage codes={codes} intro="Your earlier recovery codes no longer work." />);
  });

  web.post('/profile/password', async (c) => {
    const p = await kit.posted(c);
    if (p instanceof Response) return p;
    const { v, form } = p;
    const str = (k: string) => (typeof form[k] === 'string' ? (form[k] as string) : '');
    if (str('new_password') !== str('new_password_again')) return kit.flashTo(v, PROFILE, { kind: 'error', text: 'The two new passwords differ.' });
    try {
      await changeAdminPassword(runtime, v.admin, { current: str('current_password'), next: str('new_password') });
    } catch (err) {
      if (!isAppError(err)) throw err;
      return kit.flashTo(v, PROFILE, { kind: 'error', text: `Password not changed: ${err.message}` });
    }
    return kit.flashTo(v, PROFILE, { kind: 'info', text: 'Password changed.' });
  });
}
