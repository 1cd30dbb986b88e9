// Reading a user's file for an action (an email attachment, a multipart part, a compress entry):
// a download through the session core, so the user's permissions and file patterns apply, streamed
// chunk by chunk and closed (or aborted on failure) when the reader is done.
import type { Connection } from '../connection.ts';

/** The bytes of `vpath`, opened when iteration starts. */
export async function* fileChunks(conn: Connection, vpath: string): AsyncGenerator<Uint8Array> {
  const dl = await conn.fs.openDownload(conn, vpath);
  let done = false;
  try {
    yield* dl.chunks(0);
    await dl.close();
    done = true;
  } finally {
    if (!done) await dl.abort().catch(() => undefined);
  }
}
