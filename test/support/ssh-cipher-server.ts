// A deliberately tiny ssh2 server used by the cipher integration test, the cipher benchmark and
// the compiled-binary smoke check. It serves one directory over a minimal SFTP subsystem (just the
// requests OpenSSH's `sftp get`/`put` issue) and an `exec` channel that echoes stdin back, so the
// real OpenSSH client can push bytes through every cipher in both directions.
import { execFileSync } from 'node:child_process';
import { closeSync, fstatSync, mkdtempSync, openSync, readFileSync, readSync, statSync, writeSync } from 'node:fs';
import type { Stats } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import type { Connection, SFTPWrapper } from 'ssh2';
import { Server as ForkServer, utils as forkUtils } from '../../src/lib/ssh2.ts';

/** The parts of an ssh2 module the server needs, so a benchmark can run it on upstream ssh2 too. */
export interface Ssh2Impl {
  Server: typeof ForkServer;
  utils: typeof forkUtils;
}

export interface SshKeys {
  dir: string;
  hostKeyPath: string;
  clientKeyPath: string;
}

export interface CipherTestServer {
  port: number;
  root: string;
  close(): Promise<void>;
}

export const TEST_USER = 'tester';
export const TEST_PASSWORD = 'secret-password';

/** ssh-keygen generated keys, so nothing in the test depends on committed key material. */
export function generateKeys(): SshKeys {
  const dir = mkdtempSync(join(tmpdir(), 'ssh-cipher-keys-'));
  const hostKeyPath = join(dir, 'host_ed25519');
  const clientKeyPath = join(dir, 'client_ed25519');
  for (const path of [hostKeyPath, clientKeyPath])
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path]);
  return { dir, hostKeyPath, clientKeyPath };
}

const { STATUS_CODE, OPEN_MODE } = forkUtils.sftp;

function toAttrs(st: Stats) {
  return {
    mode: st.mode,
    uid: st.uid,
    gid: st.gid,
    size: st.size,
    atime: Math.floor(st.atimeMs / 1000),
    mtime: Math.floor(st.mtimeMs / 1000),
  };
}

function fsFlags(flags: number): string {
  const write = (flags & OPEN_MODE.WRITE) !== 0;
  if (!write) return 'r';
  if (flags & OPEN_MODE.TRUNC || flags & OPEN_MODE.CREAT) return (flags & OPEN_MODE.READ) ? 'w+' : 'w';
  return 'r+';
}

function serveSftp(sftp: SFTPWrapper, root: string): void {
  // Paths are confined to `root`; the handle is the fd as a 4-byte big-endian number.
  const resolve = (p: string): string => join(root, posix.normalize(`/${p}`));
  const fdOf = (handle: Buffer): number => (handle.length === 4 ? handle.readUInt32BE(0) : -1);
  const handleOf = (fd: number): Buffer => {
    const h = Buffer.alloc(4);
    h.writeUInt32BE(fd, 0);
    return h;
  };
  const fail = (reqId: number, err: unknown): void => {
    const code = (err as NodeJS.ErrnoException).code;
    sftp.status(reqId, code === 'ENOENT' ? STATUS_CODE.NO_SUCH_FILE : STATUS_CODE.FAILURE);
  };

  sftp.on('REALPATH', (reqId, path) => {
    const p = posix.normalize(`/${path}`);
    sftp.name(reqId, [{ filename: p, longname: p, attrs: {} as never }]);
  });
  const stat = (reqId: number, path: string): void => {
    try {
      sftp.attrs(reqId, toAttrs(statSync(resolve(path))));
    } catch (err) {
      fail(reqId, err);
    }
  };
  sftp.on('STAT', stat);
  sftp.on('LSTAT', stat);
  sftp.on('OPEN', (reqId, filename, flags) => {
    try {
      sftp.handle(reqId, handleOf(openSync(resolve(filename), fsFlags(flags))));
    } catch (err) {
      fail(reqId, err);
    }
  });
  sftp.on('FSTAT', (reqId, handle) => {
    try {
      sftp.attrs(reqId, toAttrs(fstatSync(fdOf(handle))));
    } catch (err) {
      fail(reqId, err);
    }
  });
  // Synchronous I/O on purpose: requests arrive pipelined and the file sits in the page cache, so
  // this keeps the server's own overhead small and the measurement about the SSH transport.
  sftp.on('READ', (reqId, handle, offset, length) => {
    try {
      const buf = Buffer.allocUnsafe(length);
      const n = readSync(fdOf(handle), buf, 0, length, offset);
      if (n === 0) sftp.status(reqId, STATUS_CODE.EOF);
      else sftp.data(reqId, buf.subarray(0, n));
    } catch (err) {
      fail(reqId, err);
    }
  });
  sftp.on('WRITE', (reqId, handle, offset, data) => {
    try {
      writeSync(fdOf(handle), data, 0, data.length, offset);
      sftp.status(reqId, STATUS_CODE.OK);
    } catch (err) {
      fail(reqId, err);
    }
  });
  sftp.on('SETSTAT', (reqId) => sftp.status(reqId, STATUS_CODE.OK));
  sftp.on('FSETSTAT', (reqId) => sftp.status(reqId, STATUS_CODE.OK));
  sftp.on('OPENDIR', (reqId) => sftp.status(reqId, STATUS_CODE.OP_UNSUPPORTED));
  // OpenSSH's sftp waits for the server to close the channel after it sends EOF, as sftp-server
  // exiting would.
  sftp.on('end', () => sftp.end());
  sftp.on('CLOSE', (reqId, handle) => {
    try {
      closeSync(fdOf(handle));
      sftp.status(reqId, STATUS_CODE.OK);
    } catch (err) {
      fail(reqId, err);
    }
  });
}

function handleClient(client: Connection, impl: Ssh2Impl, clientPub: Buffer, root: string): void {
  const allowedKey = impl.utils.parseKey(clientPub);
  if (allowedKey instanceof Error) throw allowedKey;
  client.on('authentication', (ctx) => {
    if (ctx.username !== TEST_USER) return ctx.reject();
    if (ctx.method === 'password' && ctx.password === TEST_PASSWORD) return ctx.accept();
    if (ctx.method === 'publickey' && ctx.key.algo === allowedKey.type
        && ctx.key.data.equals(allowedKey.getPublicSSH())) {
      // Without a signature the client is only asking whether the key would be accepted.
      if (!ctx.signature) return ctx.accept();
      if (ctx.blob && allowedKey.verify(ctx.blob, ctx.signature, ctx.hashAlgo) === true) return ctx.accept();
    }
    return ctx.reject(['publickey', 'password']);
  });
  client.on('ready', () => {
    client.on('session', (acceptSession) => {
      const session = acceptSession();
      session.on('sftp', (accept) => serveSftp(accept(), root));
      session.on('exec', (accept) => {
        // Echo everything back, then report success once the client has sent EOF.
        const stream = accept();
        stream.on('data', (chunk: Buffer) => stream.write(chunk));
        stream.on('end', () => {
          stream.exit(0);
          stream.end();
        });
      });
    });
  });
  client.on('error', () => {
    // A client hanging up mid-transfer is not this server's problem.
  });
}

export async function startCipherTestServer(
  keys: SshKeys, root: string, impl: Ssh2Impl = { Server: ForkServer, utils: forkUtils },
): Promise<CipherTestServer> {
  const clientPub = readFileSync(`${keys.clientKeyPath}.pub`);
  const server = new impl.Server(
    { hostKeys: [readFileSync(keys.hostKeyPath)] },
    (client) => handleClient(client, impl, clientPub, root),
  );
  await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    root,
    close: () => new Promise<void>((resolveClose) => server.close(() => resolveClose())),
  };
}

/** Common OpenSSH client options: no host key prompts, only our generated key, fail fast. */
export function opensshArgs(keys: SshKeys): string[] {
  return [
    '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR',
    '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-o', 'PasswordAuthentication=no',
    '-i', keys.clientKeyPath, '-F', '/dev/null',
  ];
}
