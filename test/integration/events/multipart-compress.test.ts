// Multipart HTTP bodies and the compress action on a real server with real clients: an FTP upload
// POSTs a multipart/form-data body, streamed (chunked), whose file part carries the uploaded bytes
// exactly and whose JSON part has its placeholders JSON-escaped, read back by a standard form-data
// parser; an SFTP upload is zipped with a directory into an archive `unzip -t` accepts, entries
// deflated and named as SFTPGo names them; on demand, paths sharing a parent are named from that
// parent; a missing path fails the action and leaves no archive.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { run } from '../../support/run.ts';
import { removeTempDirs } from '../../support/tmp.ts';
import { api, davPut, lftp, sftp, startEventServer, type EventServer } from './harness.ts';

interface Posted {
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

let s: EventServer;
let http: Server;
const posted: Posted[] = [];
let onPost: (() => void) | undefined;

async function waitPosted(pred: (p: Posted) => boolean): Promise<Posted> {
  for (const deadline = Date.now() + 15_000; Date.now() < deadline; ) {
    const hit = posted.find(pred);
    if (hit) return hit;
    await new Promise<void>((resolve) => {
      onPost = resolve;
      setTimeout(resolve, 500);
    });
  }
  throw new Error(`nothing posted matched; got ${posted.map((p) => p.url).join(', ')}`);
}

/** The posted body read by the runtime's own multipart/form-data parser. */
function formOf(p: Posted): Promise<FormData> {
  return new Response(new Uint8Array(p.body), { headers: { 'content-type': String(p.headers['content-type']) } }).formData();
}

beforeAll(async () => {
  http = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      posted.push({ url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
      onPost?.();
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  const yaml = `event_actions:
  - name: post-parts
    type: 1
    options:
      http_config:
        endpoint: ${base}/parts
        timeout: 5
        parts:
          - name: meta
            headers: [{ key: Content-Type, value: application/json }]
            body: '{"user":"{{.Name}}","path":"{{.VirtualPath}}","size":{{.FileSize}}}'
          - name: note
            body: "uploaded over {{.Protocol}}"
          - name: file
            filepath: "{{.VirtualPath}}"
            headers: [{ key: X-Object, value: "{{.ObjectName}}" }]
  - name: zip-upload
    type: 9
    options:
      fs_config:
        type: 5
        compress:
          name: "/archives/{{.ObjectBaseName}}.zip"
          paths: ["{{.VirtualPath}}", /docs]
  - name: zip-docs
    type: 9
    options:
      fs_config:
        type: 5
        compress:
          name: /backup/docs.zip
          paths: [/docs/a.txt, /docs/sub]
  - name: zip-missing
    type: 9
    options:
      fs_config:
        type: 5
        compress:
          name: /backup/missing.zip
          paths: [/docs/a.txt, /no/such/file]
event_rules:
  - name: parts-on-upload
    trigger: 1
    conditions:
      fs_events: [upload]
      options:
        fs_paths: [{ pattern: "/parts/*" }]
    actions: [{ name: post-parts }]
  - name: zip-on-upload
    trigger: 1
    conditions:
      fs_events: [upload]
      options:
        fs_paths: [{ pattern: "/zipin/*" }]
    actions: [{ name: zip-upload }]
  - name: zip-now
    trigger: 6
    conditions:
      options:
        names: [{ pattern: alice }]
    actions: [{ name: zip-docs }]
  - name: zip-fails
    trigger: 6
    conditions:
      options:
        names: [{ pattern: alice }]
    actions: [{ name: zip-missing }]
`;
  s = await startEventServer(yaml);
  for (const d of ['parts', 'zipin', 'docs/sub']) mkdirSync(join(s.home, d), { recursive: true });
  writeFileSync(join(s.home, 'docs/a.txt'), 'alpha\n');
  writeFileSync(join(s.home, 'docs/sub/b.txt'), 'beta\n');
});

afterAll(async () => {
  await s?.server.stop();
  http?.closeAllConnections();
  await new Promise<void>((resolve) => http?.close(() => resolve()));
  removeTempDirs();
});

describe('a multipart HTTP body (http_config.parts)', () => {
  test("an FTP upload POSTs its bytes as a file part, streamed, beside filled text parts", async () => {
    const data = randomBytes(3 * 1024 * 1024 + 7);
    writeFileSync(join(s.local, 'data.bin'), data);
    expect((await lftp(s, `put ${join(s.local, 'data.bin')} -o /parts/data.bin`)).status).toBe(0);
    const p = await waitPosted((x) => x.url === '/parts');
    expect(String(p.headers['content-type'])).toMatch(/^multipart\/form-data; boundary=/);
    // Streamed: no length known up front.
    expect(p.headers['transfer-encoding']).toBe('chunked');
    const form = await formOf(p);
    expect(JSON.parse(String(form.get('meta')))).toEqual({ user: 'alice', path: '/parts/data.bin', size: data.length });
    expect(form.get('note')).toBe('uploaded over FTP');
    const file = form.get('file') as File;
    expect(file.name).toBe('data.bin');
    expect(file.type).toBe('application/octet-stream');
    expect(Buffer.compare(Buffer.from(await file.arrayBuffer()), data)).toBe(0);
    expect(p.body.toString('latin1')).toContain('X-Object: data.bin');
  });

  test('a JSON part escapes its values: a name with a quote keeps it valid JSON', async () => {
    writeFileSync(join(s.local, 'q.csv'), 'a,b\n');
    expect(await davPut(s, join(s.local, 'q.csv'), '/parts/we%22ird.csv')).toBe(201);
    const p = await waitPosted((x) => x.url === '/parts' && x.body.includes('ird.csv'));
    const form = await formOf(p);
    expect(JSON.parse(String(form.get('meta'))).path).toBe('/parts/we"ird.csv');
    expect(await (form.get('file') as File).text()).toBe('a,b\n');
    expect((form.get('file') as File).type).toBe('text/csv');
  });

  test('the schema refuses a body or a Content-Type header beside parts', async () => {
    const bad = await api(s, 'POST', '/api/v2/eventactions', {
      name: 'bad-parts', type: 1, options: { http_config: { endpoint: 'http://127.0.0.1/x', body: 'b', headers: [{ key: 'Content-Type', value: 'text/plain' }], parts: [{ name: 'p', body: 'x' }] } },
    });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.json)).toContain('a multipart request has no body');
    expect(JSON.stringify(bad.json)).toContain('the Content-Type of a multipart request is set by the server');
  });
});

describe('the compress filesystem action (fs_config type 5)', () => {
  test('an SFTP upload is zipped with /docs into an archive unzip accepts, entries named from the root', async () => {
    writeFileSync(join(s.local, 'x.txt'), 'upload body\n');
    expect((await sftp(s, [`put ${join(s.local, 'x.txt')} /zipin/x.txt`])).status).toBe(0);
    const line = await s.server.waitForLog((l) => l.event === 'event_rule_run' && l.rule === 'zip-on-upload');
    expect(line.result).toBe('ok');
    const zip = join(s.home, 'archives/x.zip');
    const t = await run('unzip', ['-t', zip]);
    expect(t.status).toBe(0);
    expect(t.stdout).toContain('No errors detected');
    const names = (await run('zipinfo', ['-1', zip])).stdout.trim().split('\n').sort();
    expect(names).toEqual(['docs/', 'docs/a.txt', 'docs/sub/', 'docs/sub/b.txt', 'zipin/x.txt']);
    expect((await run('unzip', ['-p', zip, 'zipin/x.txt'])).stdout).toBe('upload body\n');
    // Deflated, as SFTPGo's archives are.
    expect((await run('zipinfo', [zip])).stdout).toMatch(/ def[NXFS] .* zipin\/x\.txt$/m);
    expect((await run('unzip', ['-p', zip, 'docs/sub/b.txt'])).stdout).toBe('beta\n');
  });

  test('on demand: paths sharing a parent are named from it; the archive is fetched back over SFTP', async () => {
    expect((await api(s, 'POST', '/api/v2/eventrules/run/zip-now')).status).toBe(202);
    const line = await s.server.waitForLog((l) => l.event === 'event_rule_run' && l.rule === 'zip-now');
    expect(line.result).toBe('ok');
    const local = join(s.local, 'docs.zip');
    expect((await sftp(s, [`get /backup/docs.zip ${local}`])).status).toBe(0);
    expect((await run('unzip', ['-t', local])).status).toBe(0);
    expect((await run('zipinfo', ['-1', local])).stdout.trim().split('\n').sort()).toEqual(['a.txt', 'sub/', 'sub/b.txt']);
  });

  test('a missing path fails the action and leaves no archive', async () => {
    expect((await api(s, 'POST', '/api/v2/eventrules/run/zip-fails')).status).toBe(202);
    const line = await s.server.waitForLog((l) => l.event === 'event_rule_run' && l.rule === 'zip-fails');
    expect(line.result).toBe('failed');
    expect(String((line.actions as { error: string }[])[0]!.error)).toContain('filesystem action failed for users: alice');
    expect(existsSync(join(s.home, 'backup/missing.zip'))).toBe(false);
  });

  test('the schema refuses an archive that compresses itself', async () => {
    const bad = await api(s, 'POST', '/api/v2/eventactions', { name: 'self-zip', type: 9, options: { fs_config: { type: 5, compress: { name: '/a.zip', paths: ['/a.zip'] } } } });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.json)).toContain('the archive cannot compress itself');
  });
});
