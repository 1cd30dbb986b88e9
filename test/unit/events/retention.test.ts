// Data retention checks run by the event manager in process, over a real local home: each file's
// nearest configured folder decides its retention (0 excludes, a deeper folder overrides), empty
// subdirectories go with delete_empty_dirs but never a configured folder, and, as in SFTPGo, the
// check ignores the user's permissions and file patterns. The run's log line reports what went.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { existsSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { openCore, type CoreHarness } from '../../support/core.ts';
import { tempDir, removeTempDirs } from '../../support/tmp.ts';

const HOUR = 3_600_000;
let core: CoreHarness;
let home: string;

beforeAll(async () => {
  home = join(tempDir('retention-'), 'home');
  mkdirSync(home);
  core = await openCore({
    yaml: `users:
  - username: u
    password: "u-Secret-1"
    home_dir: ${home}
    permissions: { "/": [list, download] }
    filters:
      file_patterns: [{ path: /, denied_patterns: ["*.tmp"] }]
event_actions:
  - name: clean
    type: 8
    options:
      retention_config:
        folders:
          - { path: /, retention: 10 }
          - { path: /keep, retention: 0 }
          - { path: /keep/tmp, retention: 1 }
          - { path: /logs, retention: 100, delete_empty_dirs: true }
          - { path: /missing, retention: 1 }
event_rules:
  - name: clean-now
    trigger: 6
    conditions:
      options:
        names: [{ pattern: u }]
    actions: [{ name: clean }]
`,
  });
});

afterAll(async () => {
  await core.close();
  removeTempDirs();
});

function file(path: string, ageHours: number, size = 10): void {
  const p = join(home, path);
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, Buffer.alloc(size));
  const t = new Date(Date.now() - ageHours * HOUR);
  utimesSync(p, t, t);
}

describe('data retention checks', () => {
  test('remove by the nearest folder, keep the excluded and the young, prune emptied subdirectories only', async () => {
    file('a.txt', 20, 7);
    file('b.txt', 5);
    file('hidden.tmp', 20);
    file('keep/x.txt', 1000);
    file('keep/tmp/y.txt', 2);
    file('keep/tmp/z.txt', 0.5);
    file('logs/old.txt', 200);
    file('logs/new.txt', 50);
    file('logs/d1/old.txt', 200);
    file('sub/e.txt', 20);
    mkdirSync(join(home, 'logs/empty-already'));

    await core.ctx.events.runOnDemand('clean-now');
    for (let i = 0; i < 400 && core.ctx.events.pending > 0; i++) await new Promise((r) => setTimeout(r, 10));
    const gone = (p: string) => !existsSync(join(home, p));
    expect(['a.txt', 'hidden.tmp', 'keep/tmp/y.txt', 'logs/old.txt', 'logs/d1/old.txt', 'logs/d1', 'logs/empty-already', 'sub/e.txt'].filter((p) => !gone(p))).toEqual([]);
    expect(['b.txt', 'keep/x.txt', 'keep/tmp/z.txt', 'logs/new.txt', 'sub', 'keep/tmp', 'logs'].filter(gone)).toEqual([]);

    const run = core.lines.find((l) => l.event === 'event_rule_run' && l.rule === 'clean-now') as { result: string; actions: { retention: { username: string; folders: Record<string, unknown>[] }[] }[] };
    expect(run.result).toBe('ok');
    const folders = run.actions[0]!.retention[0]!.folders;
    expect(run.actions[0]!.retention[0]!.username).toBe('u');
    expect(folders).toEqual(expect.arrayContaining([
      { path: '/', retention: 10, deleted_files: 2, deleted_size: 17 },
      { path: '/keep', retention: 0, deleted_files: 0, deleted_size: 0, info: 'skipped: retention is 0' },
      { path: '/keep/tmp', retention: 1, deleted_files: 1, deleted_size: 10 },
      { path: '/logs/d1', retention: 100, deleted_files: 1, deleted_size: 10 },
      { path: '/missing', retention: 1, deleted_files: 0, deleted_size: 0, info: 'skipped: the folder does not exist' },
    ]));
  });
});
