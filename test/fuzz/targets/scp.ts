// Fuzz target: the legacy SCP protocol (src/protocols/sftp/scp.ts), `scp -t` (upload) and
// `scp -f` (download), driven over a channel whose client side is the input: control lines
// (T, C, D, E), file data and acks, through the real session core on in-memory storage. The
// first byte picks the direction and the flags. The transfer ends with exit status 0 or 1, or an
// Error the command wrapper reports (never a TypeError or the like); it never hangs once the
// client's bytes run out; and everything it writes is protocol: acks, control lines, file data.
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { Duplex } from 'node:stream';
import { ScpSession, type ScpArgs } from '../../../src/protocols/sftp/scp.ts';
import { AppError } from '../../../src/errors.ts';
import { Session } from '../../../src/core/session.ts';
import { coreSettingsFor } from '../../../src/core/login.ts';
import { FilePatterns } from '../../../src/core/patterns.ts';
import { MemoryFs } from '../../../src/vfs/memory/memory-fs.ts';
import type { ServerChannel } from '../../../src/lib/ssh2.ts';
import { openCore, seed, type CoreHarness } from '../../support/core.ts';
import { check, type FuzzTarget } from '../target.ts';

const YAML = 'users:\n  - username: fuzz\n    password: "pw-Secret-1"\n    home_dir: /srv/fuzz\n    permissions:\n      "/": ["*"]\n';
let core: Promise<CoreHarness> | undefined;

function harness(): Promise<CoreHarness> {
  core ??= openCore({ yaml: YAML }).then((h) => {
    process.on('exit', () => rmSync(dirname(h.dataDir), { recursive: true, force: true }));
    return h;
  });
  return core;
}

/** A channel whose reads are `input` then end, and whose writes are collected. */
function channel(input: Buffer, written: Buffer[]): ServerChannel {
  const ch = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      written.push(Buffer.from(chunk));
      cb();
    },
  });
  ch.push(input);
  ch.push(null);
  return ch as unknown as ServerChannel;
}

export const target: FuzzTarget = {
  name: 'scp',
  maxLen: 4096,
  dictionary: ['C0644 ', 'D0755 ', 'E\n', 'T1700000000 0 1700000000 0\n', ' 0 ', ' 5 ', ' 99999999999999999999 ', 'file.txt\n', 'dir\n', '..\n', '.\n', 'a/b\n', '\x00', '\x01scp: error\n', '\x02', '\n', '0755', '7777', '0000'],
  async run(data) {
    const h = await harness();
    const flags = data[0] ?? 0;
    const args: ScpArgs = { sink: (flags & 1) === 0, source: (flags & 1) === 1, recursive: (flags & 2) !== 0, preserve: (flags & 4) !== 0, target: ['/', '/dir', '/file.txt', '/new'][(flags >> 3) & 3]! };
    const u = await h.user('fuzz');
    const home = new MemoryFs();
    await seed(home, { '/file.txt': 'hello', '/dir/a.txt': 'a', '/dir/sub/b.txt': 'bb' });
    const session = new Session({
      user: u, protocol: 'SSH', remoteAddress: '127.0.0.1', method: 'password', mounts: [{ virtualPath: '/', fs: home }],
      patterns: new FilePatterns(u.filters?.file_patterns), startDirectory: '/', settings: coreSettingsFor(h.ctx), context: h.ctx, single: false, onEnded: () => undefined,
    });
    h.ctx.connections.addSession(session);
    const written: Buffer[] = [];
    try {
      const conn = session.connect({ protocol: 'SCP', disconnect: () => undefined });
      let status: number | undefined;
      try {
        status = await new ScpSession(channel(data.subarray(1), written), conn, args).run();
      } catch (err) {
        check(err instanceof AppError || (err as Error)?.constructor === Error, `run() rejected with ${(err as Error)?.name}: ${(err as Error)?.message}`);
      }
      if (status !== undefined) check(status === 0 || status === 1, `exit status ${status}`);
      const out = Buffer.concat(written);
      // The first thing sent is an ack (sink) or a control line, an error line or file data (source).
      if (args.sink && out.length) check(out[0] === 0 || out[0] === 2, `a sink starts with an ack, sent ${out[0]}`);
      if (args.sink) for (const b of written) check(b.length === 1 ? b[0] === 0 : b[0] === 1 || b[0] === 2, `a sink sends acks and error lines only: ${JSON.stringify(b.toString('latin1').slice(0, 40))}`);
    } finally {
      await session.close();
    }
  },
};
