// Fuzz target: SFTP requests as the server decodes them (the vendored ssh2's SFTP server side,
// vendor/ssh2/lib/protocol/SFTP.js), after a valid INIT. Invariants: every request event carries
// fields of its declared types; every complete packet with a readable id gets exactly one answer
// (its event or a BAD_REQUEST), unless it ends the channel (a packet too short for an id, a bad
// length); and the same bytes arriving in small chunks give the same events.
import { SFTP } from '../../../vendor/ssh2/lib/protocol/SFTP.js';
import { check, isString, isUint, type FuzzTarget } from '../target.ts';

const MAX_PACKET = 256 * 1024;
const INIT = Buffer.from([0, 0, 0, 5, 1, 0, 0, 0, 3]);
const isHandle = (h: unknown): boolean => Buffer.isBuffer(h) && h.length <= 256;
const isOffset = (v: unknown): boolean => (typeof v === 'number' && v >= 0 && Number.isFinite(v)) || (typeof v === 'bigint' && v >= 0n);
function isAttrs(a: unknown): boolean {
  if (typeof a !== 'object' || a === null) return false;
  const r = a as Record<string, unknown>;
  return ['mode', 'uid', 'gid', 'atime', 'mtime'].every((k) => r[k] === undefined || isUint(r[k])) && (r.size === undefined || isOffset(r.size));
}

// Field checks per request event, after the request id.
const SHAPES: Record<string, ((v: unknown) => boolean)[]> = {
  OPEN: [isString, isUint, isAttrs],
  CLOSE: [isHandle],
  READ: [isHandle, isOffset, isUint],
  WRITE: [isHandle, isOffset, Buffer.isBuffer],
  LSTAT: [isString],
  FSTAT: [isHandle],
  SETSTAT: [isString, isAttrs],
  FSETSTAT: [isHandle, isAttrs],
  OPENDIR: [isString],
  READDIR: [isHandle],
  REMOVE: [isString],
  MKDIR: [isString, isAttrs],
  RMDIR: [isString],
  REALPATH: [isString],
  STAT: [isString],
  RENAME: [isString, isString],
  READLINK: [isString],
  SYMLINK: [isString, isString],
  EXTENDED: [isString, (v) => v === undefined || Buffer.isBuffer(v)],
};

/** Feeds INIT then `data` in chunks of `chunk` bytes; returns the events seen, as text. */
function decode(data: Buffer, chunk: number): { events: string[]; fatal: boolean } {
  const events: string[] = [];
  let fatal = false;
  const protocol = {
    _remoteIdentRaw: 'SSH-2.0-OpenSSH_9.2',
    channelData: () => undefined,
    channelDataParts: () => undefined,
    channelClose: () => undefined,
    exitStatus: () => undefined,
  };
  const sftp = new SFTP({ _protocol: protocol }, { type: 'session', incoming: {}, outgoing: { id: 0, window: 2 ** 30, packetSize: MAX_PACKET, state: 'open' } }, { server: true });
  for (const [name, shape] of Object.entries(SHAPES)) {
    sftp.on(name, (...args: unknown[]) => {
      const [id, ...fields] = args;
      check(isUint(id) && (id as number) <= 0xffffffff, `${name}: request id ${String(id)}`);
      check(fields.length === shape.length, `${name}: ${fields.length} fields`);
      shape.forEach((ok, i) => check(ok(fields[i]), `${name}: field ${i} is ${typeof fields[i]} ${String(fields[i]).slice(0, 40)}`));
      events.push(`${name} ${id} ${fields.map((f) => (Buffer.isBuffer(f) ? f.toString('hex') : JSON.stringify(f, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)))).join(' ')}`);
    });
  }
  sftp.on('BAD_REQUEST', (id: unknown, code: unknown, message: unknown) => {
    check(isUint(id), 'BAD_REQUEST id');
    check(code === 5 || code === 8, `BAD_REQUEST code ${String(code)}`);
    check(isString(message) && message.length > 0, 'BAD_REQUEST message');
    events.push(`BAD ${id} ${code}`);
  });
  sftp.on('error', () => (fatal = true));
  sftp.push(INIT);
  for (let p = 0; p < data.length && !fatal; p += chunk) sftp.push(data.subarray(p, p + chunk));
  return { events, fatal };
}

/** How many answers the packets in `data` must get, reading the framing independently. */
function expectedAnswers(data: Buffer): { answers: number; ends: boolean } {
  let answers = 0;
  let p = 0;
  while (p + 4 <= data.length) {
    const len = data.readUInt32BE(p);
    if (len === 0 || len > MAX_PACKET) return { answers, ends: true };
    if (p + 4 + len > data.length) break;
    const type = data[p + 4]!;
    // A second INIT, or a request too short to carry its id, ends the channel.
    if (type === 1 || len < 5) return { answers, ends: true };
    answers++;
    p += 4 + len;
  }
  return { answers, ends: false };
}

export const target: FuzzTarget = {
  name: 'sftp-packet',
  maxLen: 2048,
  dictionary: [
    Buffer.from([0, 0, 0, 0]), Buffer.from([0xff, 0xff, 0xff, 0xff]), Buffer.from([0x7f, 0xff, 0xff, 0xff]),
    Buffer.from([0, 0, 1, 0]), Buffer.from([0, 0, 1, 1]), Buffer.from([0, 0, 0, 4]), Buffer.from([0, 0, 0, 0x0f]),
    Buffer.from([0x80, 0, 0, 0x0f]), 'posix-rename@openssh.com', 'statvfs@openssh.com', 'fsync@openssh.com',
    'hardlink@openssh.com', 'limits@openssh.com', '/', '.', '..',
    ...[3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 200, 201].map((t) => Buffer.from([t])),
  ],
  run(data) {
    const whole = decode(data, data.length || 1);
    const { answers, ends } = expectedAnswers(data);
    check(whole.events.length === answers, `${answers} answers expected, ${whole.events.length} given: ${whole.events.join('; ').slice(0, 300)}`);
    check(whole.fatal === ends, `channel ${whole.fatal ? 'ended' : 'lived'}, expected ${ends ? 'end' : 'life'}`);
    const chunked = decode(data, 7);
    check(JSON.stringify(chunked) === JSON.stringify(whole), 'the same events whatever the chunking');
  },
};
