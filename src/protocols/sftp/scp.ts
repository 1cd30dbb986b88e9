// The legacy SCP protocol (`scp -O`, i.e. `scp -t` / `scp -f` on the server) over the session
// core: uploads and downloads go through the same permission checks, transfers and upload mode as
// SFTP. Supports -r (recursive) and -p (times); -d is implied by checking the target.
import { posix } from 'node:path';
import { AppError } from '../../errors.ts';
import type { Connection } from '../../core/connection.ts';
import type { FileInfo } from '../../vfs/fs.ts';
import type { ServerChannel } from '../../lib/ssh2.ts';
import { ChannelReader } from './channel-reader.ts';

const OK = Buffer.from([0]);
const COPY_BUF = 64 * 1024;

export interface ScpArgs {
  sink: boolean;
  source: boolean;
  recursive: boolean;
  preserve: boolean;
  target: string;
}

export function parseScpArgs(args: readonly string[]): ScpArgs | undefined {
  const out: ScpArgs = { sink: false, source: false, recursive: false, preserve: false, target: '' };
  const rest: string[] = [];
  for (const a of args) {
    if (a.startsWith('-') && rest.length === 0 && a !== '-') {
      for (const f of a.slice(1)) {
        if (f === 't') out.sink = true;
        else if (f === 'f') out.source = true;
        else if (f === 'r') out.recursive = true;
        else if (f === 'p') out.preserve = true;
        // -d (target must be a directory) and -v carry no meaning for us.
      }
    } else rest.push(a);
  }
  if (out.sink === out.source || rest.length !== 1) return undefined;
  out.target = rest[0]!;
  return out;
}

function message(err: unknown): string {
  if (err instanceof AppError) {
    if (err.code === 'not_found') return 'No such file or directory';
    if (err.code === 'permission_denied') return 'Permission denied';
    return err.message;
  }
  return (err as Error)?.message ?? String(err);
}

export class ScpSession {
  readonly #in: ChannelReader;

  constructor(
    private readonly ch: ServerChannel,
    private readonly conn: Connection,
    private readonly args: ScpArgs,
  ) {
    this.#in = new ChannelReader(ch);
  }

  /** Runs the transfer; resolves with the exit status to send. */
  async run(): Promise<number> {
    try {
      return this.args.sink ? await this.#sink() : await this.#source();
    } finally {
      this.#in.close();
    }
  }

  async #send(b: Buffer | string): Promise<void> {
    if (!this.ch.write(b)) await new Promise<void>((r) => this.ch.once('drain', r));
  }

  async #fatal(msg: string): Promise<number> {
    await this.#send(`\x02scp: ${msg}\n`).catch(() => undefined);
    return 1;
  }

  async #awaitAck(): Promise<void> {
    const b = await this.#in.byte();
    if (b === 0) return;
    if (b === undefined) throw new Error('client closed the connection');
    const line = await this.#in.line();
    throw new Error(`client error: ${line ?? ''}`);
  }

  // ---- receiving (scp -t): client uploads ----

  async #sink(): Promise<number> {
    const fs = this.conn.fs;
    const target = fs.path(this.args.target);
    const st = await fs.probe(target);
    // Like scp: an existing directory receives the files, anything else names the single file.
    const dirs: string[] = [st?.type === 'dir' ? target : posix.dirname(target)];
    const fixedName = st?.type === 'dir' ? undefined : posix.basename(target);
    let times: { atimeMs: number; mtimeMs: number } | undefined;
    await this.#send(OK);
    for (;;) {
      const line = await this.#in.line();
      if (line === undefined || line === '') return 0;
      const kind = line[0];
      const cwd = dirs[dirs.length - 1]!;
      try {
        if (kind === 'T') {
          const m = /^T(\d+) \d+ (\d+) \d+$/.exec(line);
          if (!m) return this.#fatal('bad time line');
          times = { mtimeMs: Number(m[1]) * 1000, atimeMs: Number(m[2]) * 1000 };
          await this.#send(OK);
        } else if (kind === 'C' || kind === 'D') {
          const m = /^[CD]([0-7]{4}) (\d+) (.+)$/.exec(line);
          if (!m || m[3]!.includes('/') || m[3] === '..' || m[3] === '.') return this.#fatal('bad file line');
          const name = dirs.length === 1 && fixedName && kind === 'C' ? fixedName : m[3]!;
          const vpath = posix.join(cwd, name);
          if (kind === 'D') {
            if (!this.args.recursive) return this.#fatal('received directory without -r');
            const existing = await fs.probe(vpath);
            if (!existing) await fs.mkdir(vpath);
            else if (existing.type !== 'dir') throw new AppError('not_dir', `${name}: Not a directory`);
            dirs.push(vpath);
            if (times) await fs.setAttrs(vpath, times).catch(() => undefined);
            times = undefined;
            await this.#send(OK);
          } else {
            await this.#receiveFile(vpath, Number(m[2]), Number.parseInt(m[1]!, 8), times);
            times = undefined;
          }
        } else if (kind === 'E') {
          if (dirs.length > 1) dirs.pop();
          await this.#send(OK);
        } else {
          return this.#fatal(`unexpected message ${JSON.stringify(line.slice(0, 20))}`);
        }
      } catch (err) {
        return this.#fatal(message(err));
      }
    }
  }

  async #receiveFile(vpath: string, size: number, mode: number, times?: { atimeMs: number; mtimeMs: number }): Promise<void> {
    const upload = await this.conn.fs.openUpload(this.conn, vpath, { truncate: true, mode: mode & 0o777 });
    try {
      await this.#send(OK);
      for await (const chunk of this.#in.exactly(size)) {
        this.conn.touch();
        await upload.write(chunk);
      }
      await this.#awaitAck();
      await upload.close();
    } catch (err) {
      await upload.abort();
      throw err;
    }
    if (times) await this.conn.fs.setAttrs(vpath, times).catch(() => undefined);
    await this.#send(OK);
  }

  // ---- sending (scp -f): client downloads ----

  async #source(): Promise<number> {
    const fs = this.conn.fs;
    await this.#awaitAck();
    const vpath = fs.path(this.args.target);
    let st: FileInfo;
    try {
      st = await fs.stat(vpath);
    } catch (err) {
      await this.#send(`\x01scp: ${this.args.target}: ${message(err)}\n`);
      return 1;
    }
    try {
      if (st.type === 'dir') {
        if (!this.args.recursive) {
          await this.#send(`\x01scp: ${this.args.target}: not a regular file\n`);
          return 1;
        }
        await this.#sendDir(vpath, st);
      } else {
        await this.#sendFile(vpath, st);
      }
    } catch (err) {
      await this.#send(`\x01scp: ${message(err)}\n`).catch(() => undefined);
      return 1;
    }
    return 0;
  }

  async #sendTimes(st: FileInfo): Promise<void> {
    if (!this.args.preserve) return;
    await this.#send(`T${Math.floor(st.mtimeMs / 1000)} 0 ${Math.floor(st.atimeMs / 1000)} 0\n`);
    await this.#awaitAck();
  }

  async #sendFile(vpath: string, st: FileInfo): Promise<void> {
    const download = await this.conn.fs.openDownload(this.conn, vpath);
    try {
      await this.#sendTimes(st);
      const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
      await this.#send(`C${mode} ${st.size} ${posix.basename(vpath)}\n`);
      await this.#awaitAck();
      let pos = 0;
      while (pos < st.size) {
        // A fresh buffer per chunk: the channel may still hold the previous one in its queue.
        const buf = Buffer.allocUnsafe(Math.min(COPY_BUF, st.size - pos));
        const n = await download.read(buf, pos);
        if (n === 0) throw new Error('file shrank while being sent');
        this.conn.touch();
        await this.#send(n === buf.length ? buf : buf.subarray(0, n));
        pos += n;
      }
      await this.#send(OK);
      await this.#awaitAck();
      await download.close();
    } catch (err) {
      await download.abort();
      throw err;
    }
  }

  async #sendDir(vpath: string, st: FileInfo): Promise<void> {
    await this.#sendTimes(st);
    const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
    await this.#send(`D${mode} 0 ${posix.basename(vpath) || '/'}\n`);
    await this.#awaitAck();
    for await (const e of await this.conn.fs.openDir(vpath)) {
      const child = posix.join(vpath, e.name);
      if (e.type === 'dir') await this.#sendDir(child, e);
      else if (e.type === 'file') await this.#sendFile(child, e);
    }
    await this.#send('E\n');
    await this.#awaitAck();
  }
}
