// Email actions (type 3): recipients, bcc, subject and body with the event's placeholders (values
// HTML-escaped in an HTML body), and attachments read from the event user's files through the
// core, streamed while the message is sent, 10 MiB in all as SFTPGo allows.
import { posix } from 'node:path';
import type { EventEmailConfig } from '../../config/schema-types.ts';
import type { Connection } from '../connection.ts';
import type { MailAttachment, Mailer } from '../mailer.ts';
import { cleanVirtualPath } from '../paths.ts';
import { fileChunks } from './files.ts';
import { fillPlaceholders, placeholderValues, type EventParams } from './params.ts';

/** SFTPGo's maxAttachmentsSize: the attachments of one email, together. */
export const MAX_ATTACHMENTS_BYTES = 10 * 1024 * 1024;

export interface EmailRunOptions {
  mailer: Mailer;
  /** Runs `fn` over the event user's tree; absent when the run has no user (on demand). */
  asEventUser?: (fn: (conn: Connection) => Promise<void>) => Promise<void>;
}

/** Filled addresses; one a placeholder leaves empty is dropped, as SFTPGo. */
function addresses(list: readonly string[] | undefined, values: ReadonlyMap<string, string>): string[] {
  return (list ?? []).map((a) => fillPlaceholders(a, values).trim()).filter((a) => a !== '');
}

/** Each attachment checked (a regular file, the total within the limit) before anything is sent. */
async function attachmentsOf(conn: Connection, paths: readonly string[]): Promise<MailAttachment[]> {
  const out: MailAttachment[] = [];
  let total = 0;
  for (const vpath of paths) {
    const st = await conn.fs.stat(vpath).catch((err: Error) => {
      throw new Error(`unable to get info for file "${vpath}", user "${conn.user.username}": ${err.message}`);
    });
    if (st.type !== 'file') throw new Error(`cannot attach non regular file "${vpath}"`);
    total += st.size;
    if (total > MAX_ATTACHMENTS_BYTES) throw new Error(`unable to send files as attachment, size too large: ${total} bytes (at most ${MAX_ATTACHMENTS_BYTES})`);
    out.push({ filename: posix.basename(vpath), content: () => fileChunks(conn, vpath) });
  }
  return out;
}

export async function runEmailAction(c: EventEmailConfig, params: EventParams, opts: EmailRunOptions): Promise<void> {
  const values = placeholderValues(params);
  const html = c.content_type === 1;
  const message = {
    to: addresses(c.recipients, values),
    bcc: addresses(c.bcc, values),
    subject: fillPlaceholders(c.subject, values),
    body: fillPlaceholders(c.body, values, html ? 'html' : 'none'),
    html,
  };
  const paths = [...new Set((c.attachments ?? []).map((a) => cleanVirtualPath(fillPlaceholders(a.trim(), values))))];
  if (paths.length === 0) return opts.mailer.send(message);
  if (!opts.asEventUser) throw new Error('attachments are files of the event\'s user: this run has no user');
  await opts.asEventUser(async (conn) => opts.mailer.send({ ...message, attachments: await attachmentsOf(conn, paths) }));
}
