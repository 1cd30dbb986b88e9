// litmus 0.13 against the WebDAV front-end, every group, with floors on the per-group pass counts.
// The counts are printed and written to <tmpdir>/sftpgo-webdav-litmus.json for the record.
// Reference peer (Debian's rclone 1.60 `rclone serve webdav`): basic 15/16, copymove 13/13,
// props 10/14, locks 30/34, http 4/4.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLitmus } from '../../support/litmus.ts';
import { freePort } from '../../support/net.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';
import { DAV_PASSWORD, startDavd, type Davd } from '../../support/webdav.ts';

/** Passed tests per group (what we achieve: every test of every group). */
const FLOORS: Record<string, { passed: number; run: number }> = {
  basic: { passed: 16, run: 16 },
  copymove: { passed: 13, run: 13 },
  props: { passed: 30, run: 30 },
  locks: { passed: 41, run: 41 },
  http: { passed: 4, run: 4 },
};

let d: Davd;

beforeAll(async () => {
  d = await startDavd([{ username: 'alice' }]);
});

afterAll(async () => {
  await d?.server.stop();
  removeTempDirs();
});

describe('litmus', () => {
  for (const [name, base] of [['plain', ''], ['prefixed', '/dav']] as const) {
    test(`every group meets its floor (${name} binding)`, async () => {
      const port = name === 'plain' ? d.ports.http : d.ports.prefixed;
      const res = await runLitmus(`http://127.0.0.1:${port}${base}/`, 'alice', DAV_PASSWORD, Object.keys(FLOORS), tempDir('litmus-'));
      const counts = Object.fromEntries(Object.entries(res.groups).map(([g, c]) => [g, `${c.passed}/${c.run}`]));
      const file = join(tmpdir(), `sftpgo-webdav-litmus${name === 'plain' ? '' : '-prefixed'}.json`);
      writeFileSync(file, JSON.stringify({ binding: name, groups: res.groups, failures: res.failures }, null, 2));
      console.log(`litmus (${name}): ${JSON.stringify(counts)} -> ${file}`);
      if (res.failures.length) console.log(res.failures.join('\n'));
      for (const [g, floor] of Object.entries(FLOORS)) {
        expect(res.groups[g], `group ${g} did not run:\n${res.output}`).toBeDefined();
        expect(res.groups[g]!.passed).toBeGreaterThanOrEqual(floor.passed);
        expect(res.groups[g]!.run).toBe(floor.run);
      }
      // The server survived the whole suite.
      expect(d.server.proc.exitCode).toBeNull();
      expect(d.server.logs.filter((l) => l.event === 'internal_error' || l.event === 'webdav_internal_error')).toEqual([]);
    }, 120_000);
  }
});

// The peer, run in the same job so the two sets of counts are comparable: Debian's rclone serving
// a temp dir over WebDAV. Its counts are printed and written beside ours, not asserted.
test('litmus against rclone serve webdav, for the record', async () => {
  const root = tempDir('rclone-dav-');
  const port = await freePort();
  const proc = spawn('rclone', ['serve', 'webdav', root, '--addr', `127.0.0.1:${port}`, '--user', 'alice', '--pass', DAV_PASSWORD, '--config', '/dev/null', '-q'], { stdio: 'ignore' });
  try {
    for (let i = 0; spawnSync('bash', ['-c', `exec 3<>/dev/tcp/127.0.0.1/${port}`]).status !== 0; i++) {
      if (i > 200 || proc.exitCode !== null) throw new Error('rclone serve webdav did not start');
      await new Promise((r) => setTimeout(r, 50));
    }
    const res = await runLitmus(`http://127.0.0.1:${port}/`, 'alice', DAV_PASSWORD, Object.keys(FLOORS), tempDir('litmus-'));
    const file = join(tmpdir(), 'sftpgo-webdav-litmus-rclone.json');
    writeFileSync(file, JSON.stringify({ peer: 'rclone serve webdav', groups: res.groups }, null, 2));
    console.log(`litmus (rclone serve webdav): ${JSON.stringify(Object.fromEntries(Object.entries(res.groups).map(([g, c]) => [g, `${c.passed}/${c.run}`])))} -> ${file}`);
    expect(Object.keys(res.groups).sort()).toEqual(Object.keys(FLOORS).sort());
  } finally {
    proc.kill('SIGTERM');
  }
}, 180_000);
