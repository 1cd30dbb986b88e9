/** @jsxImportSource hono/jsx */
// The web client's profile pages: email, description, public keys and API key access (what SFTPGo
// lets a user edit), the password change, and TOTP enrolment (a new secret shown as a QR code of
// its otpauth URL, a code checked against it, then saved, with the recovery codes shown once) or
// removal. Each form calls the user
// API's own handler (api/user-profile.ts, api/user-totp.ts).
import type { Hono } from 'hono';
import { raw } from 'hono/html';
import type { Env } from '../../api/app.ts';
import { changePassword, getProfile, updateProfile } from '../../api/user-profile.ts';
import { totpGenerate, totpSave, totpValidate } from '../../api/user-totp.ts';
import { qrSvg } from '../../lib/qr.ts';
import { Csrf, PostButton } from '../layout.tsx';
import { BASE, flashOf, formList, formText, type Kit, type Visit } from './app.tsx';

/** Where a TOTP code can be asked for (SFTPGo's protocol names). */
const TOTP_PROTOCOLS = ['SSH', 'FTP', 'HTTP'] as const;

interface Profile {
  email: string;
  description: string;
  allow_api_key_auth: boolean;
  public_keys: string[];
}

export function mountProfile(web: Hono<Env>, kit: Kit): void {
  const profileOf = async (v: Visit): Promise<Profile> => (await (await kit.call(v, {}, getProfile)).json()) as Profile;

  web.get('/profile', async (c) => {
    const v = await kit.visit(c);
    if (v instanceof Response) return v;
    const profile = await profileOf(v);
    const totp = v.user.filters?.totp_config;
    const csrf = v.session.csrf;
    return kit.send(
      v,
      'Profile',
      <>
        <h1>Profile</h1>
        <form class="stack" method="post" action={`${BASE}/profile`} id="profile">
          <Csrf token={csrf} />
          <label>Email<input type="text" name="email" value={profile.email} autocomplete="email" /></label>
          <label>Description<input type="text" name="description" value={profile.description} /></label>
          <label>Public keys (one a line)<textarea name="public_keys">{profile.public_keys.join('\n')}</textarea></label>
          <fieldset><label><input type="checkbox" name="allow_api_key_auth" value="1" checked={profile.allow_api_key_auth} /> allow API key authentication</label></fieldset>
          <button type="submit">Save profile</button>
        </form>
        <h2>Password</h2>
        <form class="stack" method="post" action={`${BASE}/changepwd`} id="changepwd">
          <Csrf token={csrf} />
          <label>Current password<input type="password" name="current_password" autocomplete="current-password" required /></label>
          <label>New password<input type="password" name="new_password1" autocomplete="new-password" required /></label>
          <label>New password again<input type="password" name="new_password2" autocomplete="new-password" required /></label>
          <button type="submit">Change password</button>
        </form>
        <h2>Two-factor authentication</h2>
        {totp?.enabled ? (
          <div id="totp-on">
            <p>TOTP is on for: {(totp.protocols ?? []).join(', ') || 'no protocol'}.</p>
            <PostButton action={`${BASE}/mfa/disable`} csrf={csrf} label="Turn TOTP off" kind="danger" />
          </div>
        ) : (
          <div id="totp-off">
            <p class="note">TOTP is off: an authenticator app's code can be asked at login, besides the password.</p>
            <PostButton action={`${BASE}/mfa/generate`} csrf={csrf} label="Set up TOTP" />
          </div>
        )}
      </>,
    );
  });

  web.post('/profile', async (c) => {
    const p = await kit.posted(c);
    if (p instanceof Response) return p;
    const { v, form } = p;
    const body = {
      email: formText(form, 'email').trim(),
      description: formText(form, 'description'),
      public_keys: formText(form, 'public_keys').split(/\r?\n/).map((k) => k.trim()).filter(Boolean),
      allow_api_key_auth: formText(form, 'allow_api_key_auth') === '1',
    };
    return kit.flashTo(v, `${BASE}/profile`, await flashOf(await kit.call(v, { body }, updateProfile)));
  });

  web.post('/changepwd', async (c) => {
    const p = await kit.posted(c);
    if (p instanceof Response) return p;
    const { v, form } = p;
    const next = formText(form, 'new_password1');
    if (next !== formText(form, 'new_password2')) return kit.flashTo(v, `${BASE}/profile`, { kind: 'error', text: 'The two new passwords differ.' });
    const res = await kit.call(v, { body: { current_password: formText(form, 'current_password'), new_password: next } }, changePassword);
    if (!res.ok) return kit.flashTo(v, `${BASE}/profile`, await flashOf(res));
    // As the API revokes the token used, the session ends: the next login takes the new password.
    await kit.endSession(v);
    return v.c.redirect(`${BASE}/login?changed=1`, 303);
  });

  web.post('/mfa/generate', async (c) => {
    const p = await kit.posted(c);
    if (p instanceof Response) return p;
    const { v } = p;
    const generated = (await (await kit.call(v, { body: {} }, totpGenerate)).json()) as { secret: string; url: string };
    return kit.send(
      v,
      'Set up TOTP',
      <>
        <h1>Set up TOTP</h1>
        <p>Scan this code with an authenticator app, or type the secret into it, then enter the code it shows.</p>
        <div class="qr-large" id="totp-qr" data-url={generated.url}>{raw(qrSvg(generated.url, { title: 'TOTP enrolment QR code' }))}</div>
        <p>Secret: <code id="totp-secret">{generated.secret}</code></p>
        <form class="stack" method="post" action={`${BASE}/mfa/save`} id="totp-save">
          <Csrf token={v.session.csrf} />
          <input type="hidden" name="secret" value={generated.secret} />
          <label>Code from the app<input type="text" name="passcode" inputmode="numeric" autocomplete="one-time-code" required /></label>
          <fieldset>
            <legend>Ask for a code on</legend>
            {TOTP_PROTOCOLS.map((proto) => (
              <label><input type="checkbox" name="protocols" value={proto} checked /> {proto}</label>
            ))}
          </fieldset>
          <button type="submit">Verify and save</button>
        </form>
      </>,
    );
  });

  web.post('/mfa/save', async (c) => {
    const p = await kit.posted(c);
    if (p instanceof Response) return p;
    const { v, form } = p;
    const secret = formText(form, 'secret');
    const protocols = formList(form, 'protocols').filter((x) => (TOTP_PROTOCOLS as readonly string[]).includes(x));
    const checked = await kit.call(v, { body: { passcode: formText(form, 'passcode'), secret } }, totpValidate);
    if (!checked.ok) return kit.flashTo(v, `${BASE}/profile`, { kind: 'error', text: 'Invalid code: TOTP was not turned on. Set it up again.' });
    const res = await kit.call(v, { body: { enabled: true, secret: { status: 'Plain', payload: secret }, protocols } }, totpSave);
    if (!res.ok) return kit.flashTo(v, `${BASE}/profile`, await flashOf(res));
    // A first enrolment answers a new set of recovery codes, once: they are kept hashed.
    const codes = ((await res.json()) as { recovery_codes?: string[] }).recovery_codes ?? [];
    if (codes.length === 0) return kit.flashTo(v, `${BASE}/profile`, { kind: 'info', text: 'TOTP configuration saved' });
    return kit.send(
      v,
      'Recovery codes',
      <>
        <p>TOTP is on. Each of these codes works once in place of an authentication code, when the authenticator is lost. Keep them somewhere safe: they are shown only now.</p>
        <ul class="recovery-codes">{codes.map((code) => <li><code>{code}</code></li>)}</ul>
        <p><a href={`${BASE}/profile`}>Back to the profile</a></p>
      </>,
    );
  });

  web.post('/mfa/disable', async (c) => {
    const p = await kit.posted(c);
    if (p instanceof Response) return p;
    const res = await kit.call(p.v, { body: { enabled: false } }, totpSave);
    return kit.flashTo(p.v, `${BASE}/profile`, await flashOf(res));
  });
}
