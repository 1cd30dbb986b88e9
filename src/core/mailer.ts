// Outgoing email through the `smtp:` section (SFTPGo's settings): one SMTP conversation per
// message, as SFTPGo's go-mail client has, with plain, STARTTLS or implicit TLS and PLAIN, LOGIN or
// CRAM-MD5 auth. The settings are read at each send, so a reload applies to the next message.
// nodemailer is imported on the first send only: a server that sends no email never loads it.
// Attachments are streams, so a file costs one chunk of memory however large it is. Every message
// is one `email_sent` or `email_failed` line and counted in sftpgo_emails_total{result}.
import { Readable } from 'node:stream';
import { format } from 'node:util';
import type { Smtp } from '../config/schema-types.ts';
import type { Secret } from '../config/secrets.ts';
import { AppError } from '../errors.ts';
import type { Log } from '../log.ts';
import type { Metrics } from './metrics.ts';

/** SFTPGo's dial timeout for the whole conversation start. */
const CONNECT_TIMEOUT_MS = 10_000;
/** Idle time on an open conversation before it is given up. */
const SOCKET_TIMEOUT_MS = 60_000;

const AUTH_METHODS = ['PLAIN', 'LOGIN', 'CRAM-MD5'] as const;

export interface MailAttachment {
  filename: string;
  /** The bytes, read once while the message is sent. */
  content: () => AsyncIterable<Uint8Array>;
}

export interface MailMessage {
  to: string[];
  bcc?: string[];
  subject: string;
  body: string;
  /** text/html instead of text/plain. */
  html: boolean;
  attachments?: MailAttachment[];
}

export interface MailerOptions {
  /** The `smtp:` section in force (read at each send). */
  settings: () => Smtp | undefined;
  /** Opens the password (a reference or a sealed value). */
  resolveSecret: (s: Secret) => string | undefined;
  log: Log;
  metrics: Metrics;
}

/** nodemailer's logger interface: (meta, message, ...format args) per level. */
type LogFn = (meta: unknown, message: string, ...args: unknown[]) => void;

export class Mailer {
  readonly #opts: MailerOptions;

  constructor(opts: MailerOptions) {
    this.#opts = opts;
  }

  /** Whether a host is configured (SFTPGo: email is disabled without one). */
  get enabled(): boolean {
    return !!this.#opts.settings()?.host;
  }

  async send(msg: MailMessage): Promise<void> {
    const started = performance.now();
    const s = this.#opts.settings();
    const fields = { to: msg.to, bcc: msg.bcc ?? [], subject: msg.subject, attachments: (msg.attachments ?? []).map((a) => a.filename) };
    try {
      if (!s?.host) throw new AppError('unsupported', 'smtp is not configured (no smtp.host)');
      if (msg.to.length === 0) throw new AppError('invalid', 'no recipient');
      const { createTransport } = await import('nodemailer');
      const transport = createTransport(this.#transportOptions(s));
      try {
        await transport.sendMail({
          from: s.from || s.user,
          to: msg.to,
          ...(msg.bcc?.length ? { bcc: msg.bcc } : {}),
          subject: msg.subject,
          [msg.html ? 'html' : 'text']: msg.body,
          attachments: (msg.attachments ?? []).map((a) => ({ filename: a.filename, content: Readable.from(a.content()) })),
        });
      } finally {
        transport.close();
      }
      this.#opts.metrics.inc('sftpgo_emails_total', { result: 'ok' });
      this.#opts.log('info', 'email_sent', { ...fields, server: `${s.host}:${s.port ?? 25}`, duration_ms: Math.round(performance.now() - started) });
    } catch (err) {
      const message = (err as Error).message ?? String(err);
      this.#opts.metrics.inc('sftpgo_emails_total', { result: 'failed' });
      this.#opts.log('warn', 'email_failed', { ...fields, ...(s?.host ? { server: `${s.host}:${s.port ?? 25}` } : {}), error: message, duration_ms: Math.round(performance.now() - started) });
      throw new Error(`unable to send email: ${message}`);
    }
  }

  #transportOptions(s: Smtp) {
    const password = s.password !== undefined ? (this.#opts.resolveSecret(s.password) ?? '') : '';
    const user = s.user ?? '';
    const encryption = s.encryption ?? 0;
    const log = this.#opts.log;
    const line: LogFn = (_meta, message, ...args) => log('debug', 'smtp_debug', { message: format(message, ...args) });
    return {
      host: s.host,
      port: s.port ?? 25,
      // 1: TLS from the first byte; 2: STARTTLS required; 0: never TLS, as SFTPGo's NoTLS.
      secure: encryption === 1,
      requireTLS: encryption === 2,
      ignoreTLS: encryption === 0,
      tls: { servername: s.host },
      name: s.domain || 'localhost',
      ...(user || password ? { auth: { user, pass: password }, authMethod: AUTH_METHODS[s.auth_type ?? 0] } : {}),
      connectionTimeout: CONNECT_TIMEOUT_MS,
      greetingTimeout: CONNECT_TIMEOUT_MS,
      socketTimeout: SOCKET_TIMEOUT_MS,
      ...(s.debug ? { debug: true, logger: { trace: line, debug: line, info: line, warn: line, error: line, fatal: line, level: () => undefined } } : { logger: false }),
    };
  }
}
