// A real SMTP server for email tests (smtp-server, nodemailer's sibling): plain, STARTTLS or
// implicit TLS, with or without PLAIN / LOGIN / CRAM-MD5 auth, on a free loopback port. Every
// message is kept with its envelope, whether it came over TLS and who logged in, and decoded
// (headers, text and HTML bodies, attachments) by a small MIME reader, so a test awaits the message
// it expects and checks what a mail client would show.
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import type { CertFiles } from './tls.ts';

export interface MimePart {
  headers: Map<string, string>;
  /** The decoded bytes of a leaf part. */
  body: Buffer;
  parts: MimePart[];
}

export interface Attachment {
  filename: string;
  contentType: string;
  content: Buffer;
}

export interface ReceivedMail {
  from: string;
  /** Envelope recipients (To and Bcc). */
  rcpt: string[];
  headers: Map<string, string>;
  subject: string;
  text?: string;
  html?: string;
  attachments: Attachment[];
  /** The conversation was encrypted (implicit TLS or STARTTLS). */
  secure: boolean;
  /** The authenticated user, when the client logged in. */
  user?: string;
  /** The name the client gave with EHLO/HELO. */
  helo: string;
  raw: Buffer;
}

export interface SmtpReceiverOptions {
  /** plain: no TLS at all; starttls: offers STARTTLS; implicit: TLS from the first byte. */
  mode?: 'plain' | 'starttls' | 'implicit';
  tls?: CertFiles;
  /** Require a login with these credentials. */
  auth?: { user: string; pass: string; methods?: ('PLAIN' | 'LOGIN' | 'CRAM-MD5')[] };
}

function decodeWords(v: string): string {
  return v.replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g, (_m, _cs: string, enc: string, text: string) =>
    enc.toUpperCase() === 'B' ? Buffer.from(text, 'base64').toString('utf8') : Buffer.from(qp(text.replace(/_/g, ' '))).toString('utf8'));
}

function qp(s: string): Buffer {
  const bytes: number[] = [];
  const text = s.replace(/=\r?\n/g, '');
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '=' && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(...Buffer.from(ch, 'utf8'));
  }
  return Buffer.from(bytes);
}

function param(header: string | undefined, name: string): string | undefined {
  const m = new RegExp(`;\\s*${name}="?([^";]+)"?`, 'i').exec(header ?? '');
  return m?.[1];
}

/** Parses one MIME entity (RFC 2045/2046): headers unfolded, multiparts split, leaves decoded. */
export function parseMime(raw: Buffer): MimePart {
  const text = raw.toString('latin1');
  const split = text.indexOf('\r\n\r\n');
  const head = split < 0 ? text : text.slice(0, split);
  const bodyText = split < 0 ? '' : text.slice(split + 4);
  const headers = new Map<string, string>();
  for (const line of head.replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0) headers.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
  }
  const ctype = headers.get('content-type') ?? 'text/plain';
  const boundary = /^multipart\//i.test(ctype) ? param(ctype, 'boundary') : undefined;
  if (boundary) {
    const chunks = bodyText.split(`--${boundary}`);
    const parts = chunks.slice(1, -1).map((c) => parseMime(Buffer.from(c.replace(/^\r\n/, '').replace(/\r\n$/, ''), 'latin1')));
    return { headers, body: Buffer.alloc(0), parts };
  }
  const enc = (headers.get('content-transfer-encoding') ?? '7bit').toLowerCase();
  const body = enc === 'base64' ? Buffer.from(bodyText.replace(/\s+/g, ''), 'base64') : enc === 'quoted-printable' ? qp(bodyText) : Buffer.from(bodyText, 'latin1');
  return { headers, body, parts: [] };
}

function leaves(p: MimePart): MimePart[] {
  return p.parts.length ? p.parts.flatMap(leaves) : [p];
}

export class SmtpReceiver {
  readonly messages: ReceivedMail[] = [];
  /** Failed logins seen. */
  authFailures = 0;
  readonly #server: SMTPServer;
  #waiters: { pred: (m: ReceivedMail) => boolean; resolve: (m: ReceivedMail) => void }[] = [];

  private constructor(server: SMTPServer) {
    this.#server = server;
  }

  static async start(opts: SmtpReceiverOptions = {}): Promise<SmtpReceiver> {
    const mode = opts.mode ?? 'plain';
    const auth = opts.auth;
    let rx: SmtpReceiver | undefined;
    const options: SMTPServerOptions = {
      secure: mode === 'implicit',
      ...(mode !== 'plain' && opts.tls ? { key: readFileSync(opts.tls.key), cert: readFileSync(opts.tls.cert) } : {}),
      disabledCommands: mode === 'plain' ? ['STARTTLS', ...(auth ? [] : ['AUTH'])] : auth ? [] : ['AUTH'],
      authOptional: !auth,
      allowInsecureAuth: true,
      authMethods: auth?.methods ?? ['PLAIN', 'LOGIN', 'CRAM-MD5'],
      logger: false,
      onAuth(a, _session, cb) {
        const ok = a.username === auth?.user && (a.method === 'CRAM-MD5' ? a.validatePassword(auth!.pass) : a.password === auth?.pass);
        if (!ok) {
          rx!.authFailures++;
          return cb(new Error('Invalid username or password'));
        }
        cb(null, { user: a.username });
      },
      onData(stream, session, cb) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks);
          const mime = parseMime(raw);
          const all = leaves(mime);
          const isAttachment = (p: MimePart) => /^attachment/i.test(p.headers.get('content-disposition') ?? '');
          const textOf = (type: string) => all.find((p) => !isAttachment(p) && (p.headers.get('content-type') ?? 'text/plain').toLowerCase().startsWith(type))?.body.toString('utf8');
          const text = textOf('text/plain');
          const html = textOf('text/html');
          const mail: ReceivedMail = {
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            rcpt: session.envelope.rcptTo.map((r) => r.address),
            headers: mime.headers,
            subject: decodeWords(mime.headers.get('subject') ?? ''),
            ...(text !== undefined ? { text } : {}),
            ...(html !== undefined ? { html } : {}),
            attachments: all.filter(isAttachment).map((p) => ({
              filename: decodeWords(param(p.headers.get('content-disposition'), 'filename') ?? ''),
              contentType: (p.headers.get('content-type') ?? '').split(';')[0]!.trim(),
              content: p.body,
            })),
            secure: session.secure,
            helo: session.hostNameAppearsAs,
            ...(typeof session.user === 'string' ? { user: session.user } : {}),
            raw,
          };
          rx!.messages.push(mail);
          for (const w of [...rx!.#waiters]) if (w.pred(mail)) (rx!.#waiters.splice(rx!.#waiters.indexOf(w), 1), w.resolve(mail));
          cb();
        });
      },
    };
    const server = new SMTPServer(options);
    // A client that drops the connection (a refused certificate, a test's cut) is not the test's failure.
    server.on('error', () => undefined);
    rx = new SmtpReceiver(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return rx;
  }

  get port(): number {
    return (this.#server.server.address() as AddressInfo).port;
  }

  /** The first message matching `pred`, already received or future. */
  waitFor(pred: (m: ReceivedMail) => boolean = () => true, timeoutMs = 15_000): Promise<ReceivedMail> {
    const seen = this.messages.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no matching email; got: ${JSON.stringify(this.messages.map((m) => [m.rcpt, m.subject]))}`)), timeoutMs);
      this.#waiters.push({ pred, resolve: (m) => (clearTimeout(t), resolve(m)) });
    });
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}
