// Event actions with large files, to show they stream: an SFTP upload of a 512 MiB file is POSTed
// as a multipart file part and zipped by the compress action, and the server's peak memory
// (VmHWM) grows by far less than the file. The receiver hashes the file part as it arrives (the
// project's streaming form-data reader) and the archive is checked by unzip -t. Prints the figures.
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { boundaryOf, multipartParts } from '../../src/lib/multipart.ts';
import { run } from '../support/run.ts';
import { removeTempDirs } from '../support/tmp.ts';
import { sftp, startEventServer, type EventServer } from '../integration/events/harness.ts';

const SIZE = 512 * 1024 * 1024;
/** Half the file: a server holding the file whole would pass it. */
const MAX_GROWTH = 256 * 1024 * 1024;

let s: EventServer;
let http: Server;
let received: Promise<{ sha: string; bytes: number }>;
let resolveReceived: (v: { sha: string; bytes: number }) => void;

function peakKb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0);
}

beforeAll(async () => {
  received = new Promise((resolve) => (resolveReceived = resolve));
  http = createServer(async (req, res) => {
    const boundary = boundaryOf(req.headers['content-type']);
    const chunks = req[Symbol.asyncIterator]();
    const body = new ReadableStream<Uint8Array>({
      async pull(c) {
        const { done, value } = await chunks.next();
        if (done) c.close();
        else c.enqueue(value as Buffer);
      },
    });
    for await (const part of multipartParts(body, boundary!)) {
      const h = createHash('sha256');
      let bytes = 0;
      for await (const c of part.body) {
        h.update(c);
        bytes += c.length;
      }
      if (part.name === 'file') resolveReceived({ sha: h.digest('hex'), bytes });
    }
    res.writeHead(200).end('ok');
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  s = await startEventServer(`event_actions:
  - name: post
    type: 1
    options:
      http_config:
        endpoint: ${base}/big
        parts: [{ name: file, filepath: "{{.VirtualPath}}" }]
  - name: zip
    type: 9
    options:
      fs_config:
        type: 5
        compress: { name: "/zips/{{.ObjectBaseName}}.zip", paths: ["{{.VirtualPath}}"] }
event_rules:
  - name: big
    trigger: 1
    conditions:
      fs_events: [upload]
      options:
        fs_paths: [{ pattern: "/big/*" }]
    actions: [{ name: post, order: 1 }, { name: zip, order: 2 }]
`);
  mkdirSync(join(s.home, 'big'), { recursive: true });
}, 120_000);

afterAll(async () => {
  await s?.server.stop();
  http?.closeAllConnections();
  http?.close();
  removeTempDirs();
});

test('a 512 MiB upload is POSTed and zipped without the server holding it', async () => {
  const file = join(s.local, 'huge.bin');
  const fd = openSync(file, 'w');
  const h = createHash('sha256');
  const block = randomBytes(4 * 1024 * 1024);
  for (let i = 0; i < SIZE / block.length; i++) {
    // Every block differs a little, so nothing deduplicates or compresses to nothing.
    block.writeUInt32LE(i, 0);
    writeSync(fd, block);
    h.update(block);
  }
  closeSync(fd);
  const sha = h.digest('hex');
  const pid = s.server.proc.pid!;
  const before = peakKb(pid);
  const t0 = performance.now();
  expect((await sftp(s, [`put ${file} /big/huge.bin`])).status).toBe(0);
  const uploaded = performance.now();
  const got = await received;
  const posted = performance.now();
  const line = await s.server.waitForLog((l) => l.event === 'event_rule_run' && l.rule === 'big', 600_000);
  const done = performance.now();
  expect(line.result).toBe('ok');
  expect(got).toEqual({ sha, bytes: SIZE });
  const zip = join(s.home, 'zips/huge.zip');
  expect((await run('unzip', ['-t', zip], { timeout: 600_000 })).status).toBe(0);
  const growth = (peakKb(pid) - before) * 1024;
  console.log(
    `events.hard: ${SIZE / 1048576} MiB: SFTP upload ${Math.round(uploaded - t0)} ms, multipart POST received ${Math.round(posted - uploaded)} ms after, ` +
      `rule done (POST + compress) ${Math.round(done - uploaded)} ms after; server peak memory ${Math.round(before / 1024)} MiB before, ` +
      `grew ${Math.round(growth / 1048576)} MiB`,
  );
  expect(growth).toBeLessThan(MAX_GROWTH);
}, 900_000);
