// Starts azurite's blob service (from node_modules, under Node: azurite 3.35 is the last release
// that runs on Node 20) on a free loopback port with its data in a temp dir, polls until it answers,
// and stops it after. Uses the public development account.
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { freePort } from './net.ts';
import { tempDir } from './tmp.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const AZURITE_BLOB = join(ROOT, 'node_modules/azurite/dist/src/blob/main.js');

const WATCH_PARENT = "process.stdin.on('close', () => process.kill(process.pid, 'SIGTERM')).resume(); require(process.argv[1]);";

export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface Azurite {
  /** Service URL, e.g. http://127.0.0.1:PORT/devstoreaccount1 */
  endpoint: string;
  account: string;
  key: string;
  service: BlobServiceClient;
  /** The azurite process (for CPU accounting in benchmarks). */
  pid: number;
  /** Creates a container (idempotent). */
  createContainer(name: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startAzurite(timeoutMs = 30_000): Promise<Azurite> {
  const port = await freePort();
  const dir = tempDir('azurite-');
  // Under `bun test` process.execPath is bun; azurite is run by the Node on PATH (or $NODE).
  const node = process.env.NODE ?? 'node';
  const args = [
    '--blobHost',
    '127.0.0.1',
    '--blobPort',
    String(port),
    '--skipApiVersionCheck',
    '--disableTelemetry',
    '--silent',
    '--loose',
    '-l',
    dir,
  ];
  // azurite runs under a one-line wrapper that stops it when its stdin pipe closes, i.e. when this
  // process goes away by any means (bun test fires no 'exit' event, and a crash fires nothing), so
  // a failed setup never leaves it behind. With -e, argv[1] is the script, as azurite expects.
  const proc: ChildProcess = spawn(node, ['-e', WATCH_PARENT, AZURITE_BLOB, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  proc.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((res) => proc.once('exit', () => res()));
  let hasExited = false;
  void exited.then(() => (hasExited = true));

  const endpoint = `http://127.0.0.1:${port}/${AZURITE_ACCOUNT}`;
  const service = new BlobServiceClient(endpoint, new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY), {
    // A refused connection while azurite starts should fail fast: the poll below retries.
    retryOptions: { maxTries: 1 },
  });

  const stop = async (): Promise<void> => {
    if (hasExited) return;
    proc.kill('SIGTERM');
    const killer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(killer);
  };

  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await service.getProperties();
      break;
    } catch (err) {
      const status = (err as { statusCode?: number }).statusCode;
      if (status !== undefined && status !== 0) {
        await stop();
        throw new Error(`azurite answered ${status} to a readiness probe: ${output}`, { cause: err });
      }
      if (hasExited || Date.now() > deadline) {
        await stop();
        throw new Error(`azurite did not start on port ${port}: ${output}`, { cause: err });
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  return {
    endpoint,
    account: AZURITE_ACCOUNT,
    key: AZURITE_KEY,
    service,
    pid: proc.pid!,
    async createContainer(name) {
      await service.getContainerClient(name).createIfNotExists();
    },
    stop,
  };
}
