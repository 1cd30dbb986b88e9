// The hostile peer suite: a storage peer behind a fault proxy (fault-proxy.ts) that hangs, answers
// garbage or HTTP 500s, resets the connection mid-stream or throttles it while an SFTP client
// uploads and downloads through the server. Each transfer must fail within `boundMs`, nothing
// half-written may appear (atomic mode), and the server must serve the next upload and download
// normally once the peer behaves again. Used by test/integration/crash/hostile-*.test.ts and the
// long run.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { Client, type SFTPWrapper } from '../../src/lib/ssh2.ts';
import { startFaultProxy, type Fault, type FaultProxy } from './fault-proxy.ts';
import { freePort } from './net.ts';
import { startServer, type RunningServer } from './server.ts';
import { removeTempDirs, tempDir } from './tmp.ts';

export interface Peer {
  /** Where the proxy forwards to. */
  target: { host: string; port: number };
  /** The user's `filesystem` block, reaching the peer through `proxy` ("127.0.0.1:PORT"). */
  filesystem(proxy: string): Record<string, unknown>;
  stop(): Promise<void>;
}

export interface HostileSuiteOptions {
  name: string;
  start(): Promise<Peer>;
  /** How long a faulted transfer may take to fail, from the fault. */
  boundMs: number;
  /** The same for an upload, when its part deadline is shorter (default boundMs). */
  uploadBoundMs?: number;
  faults: [string, Fault][];
  /** The faults a download meets, when not all of them (a store with no download deadline). */
  downloadFaults?: [string, Fault][];
  /** Upload size: past one part, so the fault meets a part transfer. */
  uploadBytes: number;
}

export const HOSTILE_FAULTS: [string, Fault][] = [
  ['hang', { kind: 'hang' }],
  ['HTTP 500', { kind: 'http500' }],
  ['garbage', { kind: 'garbage' }],
  ['reset after 64 KiB', { kind: 'reset', afterBytes: 64 * 1024 }],
  ['throttle to 64 KiB/s', { kind: 'throttle', bytesPerSecond: 64 * 1024 }],
];

const PASSWORD = 'hostile-Peer-1';
const MiB = 1024 * 1024;

export function hostileSuite(o: HostileSuiteOptions): void {
  // Its own hooks and servers inside one describe, so that several peers can share a file.
  describe(o.name, () => {
    let peer: Peer;
    let proxy: FaultProxy;
    let server: RunningServer;
    let port: number;
    const figures: string[] = [];

    beforeAll(async () => {
      peer = await o.start();
      proxy = await startFaultProxy(peer.target);
      const dir = tempDir('hostile-');
      port = await freePort();
      server = await startServer({
        cwd: dir,
        yaml: `sftpd:
  bindings: [{ address: 127.0.0.1, port: ${port} }]
common:
  upload_mode: atomic
data_provider:
  password_hashing: { bcrypt_options: { cost: 4 } }
users:
  - username: peer
    password: "${PASSWORD}"
    home_dir: ${join(dir, 'home')}
    permissions: { "/": ["*"] }
    filesystem: ${JSON.stringify(peer.filesystem(proxy.address))}
`,
      });
    });

    afterAll(async () => {
      if (server && (server.proc.exitCode !== null || server.proc.signalCode !== null))
        console.log(
          `the server died; last lines:\n${server.logs
            .slice(-20)
            .map((l) => JSON.stringify(l).slice(0, 600))
            .join('\n')}`,
        );
      await server?.stop();
      await proxy?.close();
      await peer?.stop();
      removeTempDirs();
      console.log(
        `hostile peers, ${o.name}: ${figures.length} faulted transfers, each failed within its bound, server served the next ones:\n${figures.join('\n')}`,
      );
    });

    function connect(): Promise<{
      client: InstanceType<typeof Client>;
      sftp: SFTPWrapper;
    }> {
      return new Promise((resolve, reject) => {
        const client = new Client();
        client.on('error', reject);
        client.once('ready', () => client.sftp((err, sftp) => (err ? reject(err) : resolve({ client, sftp }))));
        client.connect({
          host: '127.0.0.1',
          port,
          username: 'peer',
          password: PASSWORD,
          readyTimeout: 20_000,
        });
      });
    }

    const p = <T>(fn: (cb: (err: Error | null | undefined, v: T) => void) => void): Promise<T> =>
      new Promise((res, rej) => fn((err, v) => (err ? rej(err) : res(v))));

    async function putFile(sftp: SFTPWrapper, path: string, data: Buffer, onOpen?: () => void): Promise<void> {
      const h = await p<Buffer>((cb) => sftp.open(path, 'w', cb));
      onOpen?.();
      try {
        for (let at = 0; at < data.length; at += 256 * 1024) {
          const n = Math.min(256 * 1024, data.length - at);
          await p<void>((cb) => sftp.write(h, data, at, n, at, (err) => cb(err, undefined)));
        }
      } catch (err) {
        // The peer behaves again before the close, so the close's abort of the upload gets through.
        proxy.set({ kind: 'pass' });
        await p<void>((cb) => sftp.close(h, (e) => cb(e, undefined))).catch(() => undefined);
        throw err;
      }
      await p<void>((cb) => sftp.close(h, (err) => cb(err, undefined)));
    }

    async function getFile(sftp: SFTPWrapper, path: string, onOpen?: () => void): Promise<Buffer> {
      const h = await p<Buffer>((cb) => sftp.open(path, 'r', cb));
      onOpen?.();
      const chunks: Buffer[] = [];
      try {
        for (let at = 0; ;) {
          const buf = Buffer.alloc(256 * 1024);
          const n = await new Promise<number>((res, rej) => sftp.read(h, buf, 0, buf.length, at, (err, bytes) => (err ? rej(err) : res(bytes))));
          if (n === 0) break;
          chunks.push(buf.subarray(0, n));
          at += n;
        }
      } catch (err) {
        if ((err as { code?: number }).code !== 1) throw err;
      } finally {
        await p<void>((cb) => sftp.close(h, (err) => cb(err, undefined))).catch(() => undefined);
      }
      return Buffer.concat(chunks);
    }

    async function names(sftp: SFTPWrapper): Promise<string[]> {
      return (await p<{ filename: string }[]>((cb) => sftp.readdir('/', cb))).map((e) => e.filename).sort();
    }

    /** The server serves a plain upload and download again. */
    function alive(): void {
      if (server.proc.exitCode !== null || server.proc.signalCode !== null)
        throw new Error(
          `the server died (${server.proc.exitCode ?? server.proc.signalCode}); last lines:\n${server.logs
            .slice(-15)
            .map((l) => JSON.stringify(l))
            .join('\n')}`,
        );
    }

    async function healthy(): Promise<void> {
      proxy.set({ kind: 'pass' });
      alive();
      const { client, sftp } = await connect();
      try {
        const data = Buffer.alloc(64 * 1024, 9);
        await putFile(sftp, '/health.bin', data);
        expect((await getFile(sftp, '/health.bin')).equals(data)).toBe(true);
      } finally {
        client.end();
      }
    }

    describe(`${o.name} behind a hostile peer`, () => {
      test('the server is healthy through the proxy', healthy, 60_000);

      for (const [name, fault] of o.faults) {
        test(
          `${name}: an upload fails in time and leaves nothing; the next transfers work`,
          async () => {
            const { client, sftp } = await connect();
            const before = await names(sftp);
            let faultedAt = 0;
            const started = Date.now();
            const err = await putFile(sftp, `/up-${fault.kind}.bin`, Buffer.alloc(o.uploadBytes, 3), () => {
              faultedAt = Date.now();
              proxy.set(fault);
            }).then(
              () => undefined,
              (e: Error) => e,
            );
            const took = Date.now() - (faultedAt || started);
            proxy.set({ kind: 'pass' });
            alive();
            expect(err).toBeInstanceOf(Error);
            expect(took).toBeLessThan(o.uploadBoundMs ?? o.boundMs);
            expect(await names(sftp)).toEqual(before);
            client.end();
            figures.push(`  upload, ${name}: failed after ${took} ms (${err!.message})`);
            await healthy();
          },
          Math.max(120_000, o.boundMs * 3),
        );

        if (o.downloadFaults && !o.downloadFaults.some(([, f]) => f === fault)) continue;
        test(
          `${name}: a download fails in time; the next transfers work`,
          async () => {
            const { client, sftp } = await connect();
            const data = Buffer.alloc(16 * MiB, 5);
            await putFile(sftp, `/down-${fault.kind}.bin`, data);
            let faultedAt = 0;
            const err = await getFile(sftp, `/down-${fault.kind}.bin`, () => {
              faultedAt = Date.now();
              proxy.set(fault);
            }).then(
              (got) => (got.equals(data) ? undefined : new Error(`short read: ${got.length} of ${data.length} bytes`)),
              (e: Error) => e,
            );
            const took = Date.now() - faultedAt;
            proxy.set({ kind: 'pass' });
            alive();
            client.end();
            // A throttled peer still delivers, slowly: past the part deadline the read fails.
            expect(err).toBeInstanceOf(Error);
            expect(took).toBeLessThan(o.boundMs);
            figures.push(`  download, ${name}: failed after ${took} ms (${err!.message})`);
            await healthy();
          },
          Math.max(120_000, o.boundMs * 3),
        );
      }
    });
  });
}
