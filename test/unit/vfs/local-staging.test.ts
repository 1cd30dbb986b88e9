// Temporary uploads on local disk: the journal that names them while they exist (so that a crash's
// leftovers are removed at the next start, and nothing else is), and common.temp_path, where the
// local backend keeps them instead of beside their target, on the same filesystem or another one.
import { afterAll, describe, expect, test } from 'bun:test';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { liveEntries, prepareTempPath, UploadJournal } from '../../../src/core/upload-journal.ts';
import type { Log } from '../../../src/log.ts';
import { openLocalFs } from '../../../src/vfs/local/local-fs.ts';
import { openFs } from '../../../src/vfs/open.ts';
import { literalSecret } from '../../../src/vfs/options.ts';
import { tempUploadPath } from '../../../src/vfs/temp-names.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';

const shm: string[] = [];
afterAll(() => {
  removeTempDirs();
  for (const d of shm) rmSync(d, { recursive: true, force: true });
});

const lines: { event: string; fields?: Record<string, unknown> }[] = [];
const log: Log = (_level, event, fields) => void lines.push({ event, ...(fields ? { fields } : {}) });

describe('upload journal', () => {
  test('a start removes exactly the temporary files the last run left in flight', async () => {
    const dir = tempDir('journal-');
    const file = join(dir, 'uploads.journal');
    const orphan = join(dir, '.sftpgo-upload.0123456789ab.big.iso');
    const landed = join(dir, '.sftpgo-upload.ba9876543210.done.txt');
    const userFile = join(dir, 'notes.txt');
    writeFileSync(orphan, 'partial');
    writeFileSync(userFile, 'mine');
    // `landed` was renamed into place (its `-` line came after); a torn last line was never synced.
    writeFileSync(file, [`+${JSON.stringify(orphan)}`, `+${JSON.stringify(landed)}`, `+${JSON.stringify(userFile)}`, `-${JSON.stringify(landed)}`, '+"/tmp/.sftpgo-upl'].join('\n'));
    const { journal, recovery } = UploadJournal.open({ file, log });
    await journal.close();
    expect(recovery.removed).toEqual([orphan]);
    expect(existsSync(orphan)).toBe(false);
    // A name outside the temporary patterns is never removed, whatever the journal says.
    expect(readFileSync(userFile, 'utf8')).toBe('mine');
    expect(readFileSync(file, 'utf8')).toBe('');
  });

  test('entries live while their file exists; the journal empties when nothing is in flight', async () => {
    const dir = tempDir('journal-');
    const file = join(dir, 'uploads.journal');
    const { journal } = UploadJournal.open({ file, log });
    const a = join(dir, '.sftpgo-upload.000000000001.a');
    const b = join(dir, '.sftpgo-upload.000000000002.b\nwith a newline');
    await Promise.all([journal.begin(a), journal.begin(b)]);
    // Written before begin() resolves (a killed process cannot lose it), synced behind.
    expect(liveEntries(readFileSync(file, 'utf8'))).toEqual(new Set([a, b]));
    await journal.flush();
    journal.end(a);
    expect(liveEntries(readFileSync(file, 'utf8'))).toEqual(new Set([b]));
    expect(journal.size).toBe(1);
    journal.end(b);
    expect(statSync(file).size).toBe(0);
    await journal.close();
  });

  test('object store uploads are journaled by owner and key, handed back after a crash, and kept until discarded', async () => {
    const dir = tempDir('journal-');
    const file = join(dir, 'uploads.journal');
    const first = UploadJournal.open({ file, log }).journal;
    const alice = first.remote('user:alice');
    alice.begin('home/alice/big.iso');
    // Two uploads of one key share the entry until both ended.
    alice.begin('home/alice/dup.bin');
    alice.begin('home/alice/dup.bin');
    alice.end('home/alice/dup.bin');
    first.remote('folder:shared').begin('shared/report.pdf');
    first.remote('folder:shared').end('shared/report.pdf');
    // No close: the process died.
    const second = UploadJournal.open({ file, log });
    const remote = [{ owner: 'user:alice', key: 'home/alice/big.iso' }, { owner: 'user:alice', key: 'home/alice/dup.bin' }];
    expect(second.recovery.remote).toEqual(remote);
    expect(second.recovery.removed).toEqual([]);
    // Not discarded yet (the store did not answer): the next start finds them again.
    const third = UploadJournal.open({ file, log });
    expect(third.recovery.remote).toEqual(remote);
    for (const e of third.recovery.remote) third.journal.discarded(e);
    expect(statSync(file).size).toBe(0);
    await third.journal.close();
  });
});

describe('common.temp_path on the local backend', () => {
  async function setup(tempPath: string) {
    const root = tempDir('staging-home-');
    mkdirSync(join(root, 'dir'));
    writeFileSync(join(root, 'dir', 'f.txt'), 'previous');
    const file = join(tempDir('staging-data-'), 'uploads.journal');
    const { journal } = UploadJournal.open({ file, log });
    const fs = await openLocalFs(root, { staging: { dir: tempPath, journal } });
    return { root, fs, journal, file };
  }

  for (const where of ['the same filesystem', 'another filesystem'] as const) {
    test(`a temporary upload lives in temp_path and lands in place (${where})`, async () => {
      let staging: string;
      if (where === 'the same filesystem') staging = tempDir('staging-tmp-');
      else {
        if (!existsSync('/dev/shm') || statSync('/dev/shm').dev === statSync(tempDir()).dev) return;
        staging = mkdtempSync('/dev/shm/staging-tmp-');
        shm.push(staging);
      }
      const { root, fs, journal, file } = await setup(staging);
      const temp = tempUploadPath('/dir/f.txt');
      const w = await fs.openWrite(temp);
      await w.write(Buffer.from('new content'));
      await w.close();
      // Written under temp_path, nothing beside the target, and journaled while it exists.
      expect(readdirSync(staging)).toHaveLength(1);
      expect(readdirSync(join(root, 'dir'))).toEqual(['f.txt']);
      expect(liveEntries(readFileSync(file, 'utf8')).size).toBe(1);
      await fs.rename(temp, '/dir/f.txt');
      expect(readFileSync(join(root, 'dir', 'f.txt'), 'utf8')).toBe('new content');
      expect(readdirSync(staging)).toEqual([]);
      expect(readdirSync(join(root, 'dir'))).toEqual(['f.txt']);
      expect(journal.size).toBe(0);
      await journal.close();
    });
  }

  test('a discarded upload leaves nothing in temp_path nor the journal', async () => {
    const staging = tempDir('staging-tmp-');
    const { fs, journal } = await setup(staging);
    const temp = tempUploadPath('/dir/g.txt');
    const w = await fs.openWrite(temp);
    await w.write(Buffer.from('half'));
    await w.abort();
    await fs.remove(temp);
    expect(readdirSync(staging)).toEqual([]);
    expect(journal.size).toBe(0);
    await journal.close();
  });

  test('a resumed atomic upload starts from a copy of the target made in temp_path', async () => {
    const staging = tempDir('staging-tmp-');
    const { root, fs, journal } = await setup(staging);
    const temp = tempUploadPath('/dir/f.txt');
    await fs.copy!('/dir/f.txt', temp);
    expect(journal.size).toBe(1);
    const w = await fs.openWrite(temp, { offset: 8 });
    await w.write(Buffer.from('+more'));
    await w.close();
    expect(readFileSync(join(root, 'dir', 'f.txt'), 'utf8')).toBe('previous');
    await fs.rename(temp, '/dir/f.txt');
    expect(readFileSync(join(root, 'dir', 'f.txt'), 'utf8')).toBe('previous+more');
    expect(readdirSync(staging)).toEqual([]);
    expect(journal.size).toBe(0);
    await journal.close();
  });

  test('an upload into a missing directory fails at the open, as a write in place would', async () => {
    const { fs, journal } = await setup(tempDir('staging-tmp-'));
    await expect(fs.openWrite(tempUploadPath('/missing/g.txt'))).rejects.toMatchObject({ code: 'not_found' });
    expect(journal.size).toBe(0);
    await journal.close();
  });

  test('encrypted local storage keeps its temporary uploads in temp_path too', async () => {
    const staging = tempDir('staging-tmp-');
    const root = tempDir('staging-home-');
    const { journal } = UploadJournal.open({ file: join(tempDir('staging-data-'), 'uploads.journal'), log });
    const fs = await openFs({ provider: 'crypt', cryptconfig: { passphrase: 'a passphrase of some length' } }, root, { resolveSecret: literalSecret, staging: { dir: staging, journal } });
    const temp = tempUploadPath('/secret.txt');
    const w = await fs.openWrite(temp);
    await w.write(Buffer.from('plain text'));
    await w.close();
    expect(readdirSync(staging)).toHaveLength(1);
    expect(readdirSync(root)).toEqual([]);
    await fs.rename(temp, '/secret.txt');
    expect(readdirSync(staging)).toEqual([]);
    let text = '';
    for await (const c of await fs.openRead('/secret.txt')) text += c;
    expect(text).toBe('plain text');
    expect(readFileSync(join(root, 'secret.txt')).includes('plain text')).toBe(false);
    expect(journal.size).toBe(0);
    await journal.close();
  });

  test('temp_path is created when missing, resolved against the data dir, and refused when unusable', () => {
    const data = tempDir('staging-data-');
    expect(prepareTempPath({ tempPath: 'tmp/uploads', dataDir: data, usersBaseDir: data, log })).toBe(join(data, 'tmp/uploads'));
    expect(statSync(join(data, 'tmp/uploads')).isDirectory()).toBe(true);
    writeFileSync(join(data, 'a-file'), '');
    expect(() => prepareTempPath({ tempPath: 'a-file', dataDir: data, usersBaseDir: data, log })).toThrow(/common.temp_path .*a-file cannot be used/);
  });

  test('a temp_path on another filesystem than the users base dir is said at start', () => {
    if (!existsSync('/dev/shm') || statSync('/dev/shm').dev === statSync(tempDir()).dev) return;
    const staging = mkdtempSync('/dev/shm/staging-tmp-');
    shm.push(staging);
    const data = tempDir('staging-data-');
    lines.length = 0;
    prepareTempPath({ tempPath: staging, dataDir: data, usersBaseDir: data, log });
    expect(lines.map((l) => l.event)).toEqual(['temp_path_other_filesystem']);
    lines.length = 0;
    prepareTempPath({ tempPath: 'tmp', dataDir: data, usersBaseDir: data, log });
    expect(lines).toEqual([]);
  });
});
