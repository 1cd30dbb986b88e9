// The config revision rule: which config is older than the revision a shared store records.
import { describe, expect, test } from 'bun:test';
import { desiredHash, judgeRevision, type RevisionOrigin } from '../../../src/reconcile/revision.ts';
import { desiredState } from '../../../src/reconcile/desired.ts';
import { parseConfigText } from '../../../src/config/load.ts';
import { NO_SECRETS } from '../../../src/config/sealed.ts';
import type { ConfigRevisionRecord } from '../../../src/store/store.ts';

const file = (mtime: number): RevisionOrigin => ({ source: 'file', file: '/etc/sftpgo/sftpgo.yaml', mtime });
const fileRecord = (mtime: number, hash: string): ConfigRevisionRecord => ({ source: 'file', file: '/etc/sftpgo/sftpgo.yaml', mtime, hash, node: 'a:1', applied_at: mtime + 5 });
const repo = { url: 'https://git.example/cfg.git', branch: 'main', path: 'sftpgo.yaml' };
const gitRecord = (revision: string): ConfigRevisionRecord => ({ source: 'git', ...repo, revision, hash: 'h', node: 'a:1', applied_at: 1 });

describe('a local file', () => {
  test('nothing recorded: first', async () => {
    expect((await judgeRevision({ origin: file(10), hash: 'x' }, undefined)).kind).toBe('first');
  });
  test('the same content is the same revision, whatever its modification time', async () => {
    expect((await judgeRevision({ origin: file(5), hash: 'x' }, fileRecord(10, 'x'))).kind).toBe('same');
    expect((await judgeRevision({ origin: file(50), hash: 'x' }, fileRecord(10, 'x'))).kind).toBe('same');
  });
  test('other content modified before the recorded file is older; at or after it, newer', async () => {
    const older = await judgeRevision({ origin: file(5), hash: 'y' }, fileRecord(10, 'x'));
    expect(older.kind).toBe('older');
    expect(older.kind === 'older' && older.reason).toContain('before the recorded one');
    expect((await judgeRevision({ origin: file(10), hash: 'y' }, fileRecord(10, 'x'))).kind).toBe('newer');
    expect((await judgeRevision({ origin: file(11), hash: 'y' }, fileRecord(10, 'x'))).kind).toBe('newer');
  });
  test('a file after a Git revision is a change of source: newer', async () => {
    expect((await judgeRevision({ origin: file(1), hash: 'y' }, gitRecord('c2'))).kind).toBe('newer');
  });
});

describe('a Git commit', () => {
  const git = (commit: string, ancestry?: (r: string) => Promise<'descendant' | 'stale' | 'off-branch'>): RevisionOrigin => ({ source: 'git', ...repo, commit, ...(ancestry ? { ancestry } : {}) });
  test('the recorded commit is the same revision', async () => {
    expect((await judgeRevision({ origin: git('c2'), hash: 'other' }, gitRecord('c2'))).kind).toBe('same');
  });
  test('a commit that descends from the recorded one is newer; one the recorded commit came after is older', async () => {
    const asked: string[] = [];
    const newer = await judgeRevision({ origin: git('c3', async (r) => (asked.push(r), 'descendant')), hash: 'h3' }, gitRecord('c2'));
    expect(newer.kind).toBe('newer');
    expect(asked).toEqual(['c2']);
    const older = await judgeRevision({ origin: git('c1', async () => 'stale'), hash: 'h1' }, gitRecord('c2'));
    expect(older.kind).toBe('older');
  });
  test('a recorded commit the branch no longer holds (force-push) yields to the branch', async () => {
    expect((await judgeRevision({ origin: git('c1', async () => 'off-branch'), hash: 'h1' }, gitRecord('c2'))).kind).toBe('newer');
  });
  test('without the server (a start from the kept revision, or a failed comparison) another recorded commit wins', async () => {
    expect((await judgeRevision({ origin: git('c1'), hash: 'h1' }, gitRecord('c2'))).kind).toBe('older');
    const failed = await judgeRevision({ origin: git('c1', async () => Promise.reject(new Error('unreachable'))), hash: 'h1' }, gitRecord('c2'));
    expect(failed.kind === 'older' && failed.reason).toContain('unreachable');
  });
  test('another repository, branch or path is a change of source: newer', async () => {
    const origin: RevisionOrigin = { source: 'git', ...repo, branch: 'prod', commit: 'c1' };
    expect((await judgeRevision({ origin, hash: 'h1' }, gitRecord('c2'))).kind).toBe('newer');
  });
});

describe('the desired state hash', () => {
  const loaded = (yaml: string) => {
    const r = parseConfigText(yaml, 'inline.yaml', '/tmp');
    if (!r.ok) throw new Error(JSON.stringify(r.issues));
    return r.value;
  };
  const key = Buffer.alloc(32, 7);
  const hashOf = (yaml: string, k = key) => desiredHash(desiredState(loaded(yaml), '/srv/data', NO_SECRETS), k);
  const users = 'users:\n  - { username: ann, password: ann-Secret-1, home_dir: /srv/ann, permissions: { "/": ["*"] } }\n';
  test('follows what reconcile writes, not the rest of the file', () => {
    expect(hashOf(users)).toBe(hashOf(users));
    expect(hashOf(users)).toBe(hashOf(`sftpd:\n  bindings: [{ port: 2022 }]\n${users}`));
    expect(hashOf(users)).not.toBe(hashOf(users.replace('ann-Secret-1', 'ann-Secret-2')));
  });
  test('is keyed: another store gives another hash, and no clear password is in it', () => {
    expect(hashOf(users)).not.toBe(hashOf(users, Buffer.alloc(32, 8)));
    expect(hashOf(users)).not.toContain('ann');
  });
});
