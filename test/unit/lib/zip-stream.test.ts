// The streaming ZIP writer checked by Debian's unzip and Python's zipfile: names, contents, CRCs,
// and the ZIP64 records for an entry announced above 4 GiB and for more than 65,535 entries.
import { afterEach, describe, expect, test } from 'bun:test';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { zipStream, type ZipEntry } from '../../../src/lib/zip-stream.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';

afterEach(() => removeTempDirs());

async function archive(entries: ZipEntry[]): Promise<string> {
  async function* list() {
    yield* entries;
  }
  const parts: Buffer[] = [];
  for await (const c of zipStream(list())) parts.push(Buffer.from(c));
  const file = join(tempDir('zip-'), 'out.zip');
  writeFileSync(file, Buffer.concat(parts));
  return file;
}

const bytes = (...chunks: string[]) => async function* () {
  for (const c of chunks) yield Buffer.from(c);
};

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stdout}${r.stderr}`);
  return r.stdout;
}

describe('zipStream', () => {
  test('directories and files, split across chunks, test clean and read back', async () => {
    const file = await archive([
      { name: 'docs/', mtimeMs: Date.UTC(2024, 0, 2, 3, 4, 6) },
      { name: 'docs/a.txt', mtimeMs: Date.now(), data: bytes('hello ', 'world\n') },
      { name: 'é.bin', mtimeMs: Date.now(), data: bytes('x'.repeat(70_000)) },
      { name: 'empty', mtimeMs: Date.now(), data: bytes() },
    ]);
    expect(run('unzip', ['-t', file])).toContain('No errors detected');
    expect(run('unzip', ['-p', file, 'docs/a.txt'])).toBe('hello world\n');
    const listed = run('python3', ['-c', 'import sys,zipfile; z=zipfile.ZipFile(sys.argv[1]); print([(i.filename, i.file_size) for i in z.infolist()])', file]);
    expect(listed.trim()).toBe("[('docs/', 0), ('docs/a.txt', 12), ('é.bin', 70000), ('empty', 0)]");
  });

  test('ZIP64: more than 65,535 entries', async () => {
    const many = await archive(Array.from({ length: 65_600 }, (_, i) => ({ name: `d${i}/`, mtimeMs: Date.now() })));
    const count = run('python3', ['-c', 'import sys,zipfile; z=zipfile.ZipFile(sys.argv[1]); print(len(z.infolist()), z.testzip())', many]);
    expect(count.trim()).toBe('65600 None');
  });
});
