// Malformed SFTP requests sent by hand over a real ssh2 subsystem channel: each is answered with a
// status for its own id (SSH_FX_BAD_MESSAGE, or SSH_FX_OP_UNSUPPORTED for an unknown type), the
// session keeps serving, and nothing reaches the core with a field missing.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import type { ClientChannel } from 'ssh2';
import { Client } from '../../../src/lib/ssh2.ts';

type SshClient = InstanceType<typeof Client>;
import { PASSWORD, startSftpd, type Sftpd } from './harness.ts';

const FXP = { INIT: 1, VERSION: 2, OPEN: 3, CLOSE: 4, READ: 5, WRITE: 6, LSTAT: 7, FSTAT: 8, SETSTAT: 9, FSETSTAT: 10, OPENDIR: 11, READDIR: 12, REMOVE: 13, MKDIR: 14, RMDIR: 15, REALPATH: 16, STAT: 17, RENAME: 18, READLINK: 19, SYMLINK: 20, STATUS: 101, NAME: 104, EXTENDED: 200 } as const;
const FX_BAD_MESSAGE = 5;
const FX_OP_UNSUPPORTED = 8;

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0, 0);
  return b;
}
function str(s: string | Buffer): Buffer {
  const b = typeof s === 'string' ? Buffer.from(s) : s;
  return Buffer.concat([u32(b.length), b]);
}
function packet(type: number, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat([Buffer.from([type]), ...parts]);
  return Buffer.concat([u32(body.length), body]);
}

interface Reply {
  type: number;
  id: number;
  code?: number;
  body: Buffer;
}

/** A raw SFTP subsystem channel: writes packets as given, reads replies by id. */
class RawSftp {
  #buf = Buffer.alloc(0);
  #waiters = new Map<number, (r: Reply) => void>();
  #version?: (b: Buffer) => void;
  closed = false;

  constructor(readonly channel: ClientChannel) {
    channel.on('data', (d: Buffer) => this.#onData(d));
    channel.on('close', () => (this.closed = true));
  }

  #onData(d: Buffer): void {
    this.#buf = Buffer.concat([this.#buf, d]);
    while (this.#buf.length >= 4) {
      const len = this.#buf.readUInt32BE(0);
      if (this.#buf.length < 4 + len) return;
      const body = this.#buf.subarray(4, 4 + len);
      this.#buf = this.#buf.subarray(4 + len);
      if (body[0] === FXP.VERSION) {
        this.#version?.(body);
        continue;
      }
      const id = body.readUInt32BE(1);
      const reply: Reply = { type: body[0]!, id, body };
      if (reply.type === FXP.STATUS) reply.code = body.readUInt32BE(5);
      this.#waiters.get(id)?.(reply);
      this.#waiters.delete(id);
    }
  }

  init(): Promise<Buffer> {
    return new Promise((resolve) => {
      this.#version = resolve;
      this.channel.write(packet(FXP.INIT, u32(3)));
    });
  }

  /** Sends raw bytes and waits for the reply to `id`. */
  send(id: number, raw: Buffer): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no reply to request ${id}`)), 10_000);
      this.#waiters.set(id, (r) => (clearTimeout(timer), resolve(r)));
      this.channel.write(raw);
    });
  }
}

async function rawSession(s: Sftpd, user: string, existing?: SshClient): Promise<{ raw: RawSftp; client: SshClient; end: () => void }> {
  const client = existing ?? new Client();
  if (!existing)
    await new Promise<void>((resolve, reject) => {
      client.once('ready', () => resolve());
      client.once('error', reject);
      client.connect({ host: '127.0.0.1', port: s.port, username: user, password: PASSWORD, readyTimeout: 10_000 });
    });
  const channel = await new Promise<ClientChannel>((resolve, reject) =>
    client.subsys('sftp', (err: Error | undefined, ch: ClientChannel) => (err ? reject(err) : resolve(ch))),
  );
  const raw = new RawSftp(channel);
  await raw.init();
  return { raw, client, end: () => client.end() };
}

// Each case: a request whose fields do not decode. A string length past the end of the packet
// used to leave that field undefined while the next field decoded from the bytes after it.
const HUGE = u32(0x7fffffff);
// `extension`: ssh2 decodes the request, the session finds its arguments malformed.
const MALFORMED: { name: string; build: (id: number) => Buffer; extension?: true }[] = [
  { name: 'OPEN, filename past the end', build: (id) => packet(FXP.OPEN, u32(id), HUGE, u32(1), u32(0)) },
  { name: 'OPEN, no attrs', build: (id) => packet(FXP.OPEN, u32(id), str('/f'), u32(1)) },
  { name: 'OPEN, no pflags', build: (id) => packet(FXP.OPEN, u32(id), str('/f')) },
  { name: 'CLOSE, no handle', build: (id) => packet(FXP.CLOSE, u32(id)) },
  { name: 'CLOSE, handle over 256 bytes', build: (id) => packet(FXP.CLOSE, u32(id), str(Buffer.alloc(300))) },
  { name: 'READ, handle past the end', build: (id) => packet(FXP.READ, u32(id), HUGE, Buffer.alloc(12)) },
  { name: 'READ, no length', build: (id) => packet(FXP.READ, u32(id), str(u32(1)), Buffer.alloc(8)) },
  { name: 'WRITE, data past the end', build: (id) => packet(FXP.WRITE, u32(id), str(u32(1)), Buffer.alloc(8), HUGE) },
  { name: 'WRITE, handle past the end', build: (id) => packet(FXP.WRITE, u32(id), HUGE, Buffer.alloc(8), str('x')) },
  { name: 'LSTAT, no path', build: (id) => packet(FXP.LSTAT, u32(id)) },
  { name: 'FSTAT, handle past the end', build: (id) => packet(FXP.FSTAT, u32(id), HUGE) },
  { name: 'SETSTAT, path past the end, attrs after', build: (id) => packet(FXP.SETSTAT, u32(id), HUGE, u32(0)) },
  { name: 'SETSTAT, attrs cut short', build: (id) => packet(FXP.SETSTAT, u32(id), str('/f'), u32(0x4), Buffer.alloc(2)) },
  { name: 'FSETSTAT, handle past the end', build: (id) => packet(FXP.FSETSTAT, u32(id), HUGE, u32(0)) },
  { name: 'OPENDIR, path past the end', build: (id) => packet(FXP.OPENDIR, u32(id), HUGE) },
  { name: 'READDIR, no handle', build: (id) => packet(FXP.READDIR, u32(id), Buffer.alloc(2)) },
  { name: 'REMOVE, path past the end', build: (id) => packet(FXP.REMOVE, u32(id), u32(10), Buffer.from('ab')) },
  { name: 'MKDIR, path past the end, attrs after', build: (id) => packet(FXP.MKDIR, u32(id), HUGE, u32(0)) },
  { name: 'RMDIR, no path', build: (id) => packet(FXP.RMDIR, u32(id)) },
  { name: 'REALPATH, path past the end', build: (id) => packet(FXP.REALPATH, u32(id), HUGE) },
  { name: 'STAT, no path', build: (id) => packet(FXP.STAT, u32(id)) },
  { name: 'RENAME, old path past the end, new path after', build: (id) => packet(FXP.RENAME, u32(id), HUGE, str('/b')) },
  { name: 'RENAME, no new path', build: (id) => packet(FXP.RENAME, u32(id), str('/a')) },
  { name: 'READLINK, no path', build: (id) => packet(FXP.READLINK, u32(id)) },
  { name: 'SYMLINK, first path past the end, second after', build: (id) => packet(FXP.SYMLINK, u32(id), HUGE, str('/b')) },
  { name: 'EXTENDED, name past the end', build: (id) => packet(FXP.EXTENDED, u32(id), HUGE) },
  { name: 'EXTENDED posix-rename, no arguments', build: (id) => packet(FXP.EXTENDED, u32(id), str('posix-rename@openssh.com')), extension: true },
  { name: 'EXTENDED statvfs, path past the end', build: (id) => packet(FXP.EXTENDED, u32(id), str('statvfs@openssh.com'), HUGE), extension: true },
  { name: 'EXTENDED fsync, no handle', build: (id) => packet(FXP.EXTENDED, u32(id), str('fsync@openssh.com')), extension: true },
];

describe('malformed SFTP requests', () => {
  let s: Sftpd;
  beforeAll(async () => {
    s = await startSftpd([{ username: 'mal' }]);
  });
  afterAll(async () => {
    await s?.server.stop();
  });

  test('each is answered SSH_FX_BAD_MESSAGE for its id and the session serves the next request', async () => {
    const { raw, end } = await rawSession(s, 'mal');
    try {
      let id = 100;
      for (const c of MALFORMED) {
        const reply = await raw.send(++id, c.build(id));
        expect({ name: c.name, type: reply.type, code: reply.code }).toEqual({ name: c.name, type: FXP.STATUS, code: FX_BAD_MESSAGE });
        const ok = await raw.send(++id, packet(FXP.REALPATH, u32(id), str('.')));
        expect({ name: c.name, type: ok.type }).toEqual({ name: c.name, type: FXP.NAME });
      }
      expect(raw.closed).toBe(false);
    } finally {
      end();
    }
    const internal = s.server.logs.filter((l) => l.event === 'sftp_internal_error');
    expect(internal).toEqual([]);
    expect(s.server.logs.filter((l) => l.event === 'sftp_bad_request').length).toBe(MALFORMED.filter((c) => !c.extension).length);
  });

  test('an unknown request type is answered SSH_FX_OP_UNSUPPORTED, as OpenSSH does', async () => {
    const { raw, end } = await rawSession(s, 'mal');
    try {
      const reply = await raw.send(7, packet(99, u32(7), str('whatever')));
      expect(reply.code).toBe(FX_OP_UNSUPPORTED);
      const ok = await raw.send(8, packet(FXP.REALPATH, u32(8), str('/')));
      expect(ok.type).toBe(FXP.NAME);
    } finally {
      end();
    }
  });

  test('the malformed answer keeps its place behind earlier replies', async () => {
    const { raw, end } = await rawSession(s, 'mal');
    try {
      const order: number[] = [];
      const first = raw.send(1, packet(FXP.REALPATH, u32(1), str('/'))).then((r) => order.push(r.id));
      const second = raw.send(2, packet(FXP.STAT, u32(2))).then((r) => order.push(r.id));
      await Promise.all([first, second]);
      expect(order).toEqual([1, 2]);
    } finally {
      end();
    }
  });

  test('a packet length of 2 GiB or more closes the channel instead of being read as negative', async () => {
    const { raw, client, end } = await rawSession(s, 'mal');
    try {
      const closed = new Promise<void>((resolve) => raw.channel.once('close', () => resolve()));
      raw.channel.write(Buffer.from([0x80, 0x80, 0x80, 0x00, FXP.STAT, 0, 0, 0, 1]));
      await closed;
      // Only that channel went: the same connection opens another one and is served.
      const again = await rawSession(s, 'mal', client);
      const ok = await again.raw.send(3, packet(FXP.REALPATH, u32(3), str('/')));
      expect(ok.type).toBe(FXP.NAME);
    } finally {
      end();
    }
  });
});
