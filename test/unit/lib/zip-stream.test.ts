// The streaming zip writer, read back by Python's zipfile and Info-ZIP's unzip: names, contents,
// directories, CRCs, and the ZIP64 end records once the entry count outgrows the classic field.
import { afterAll, describe, expect, test } from 'bun:test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { zipStream, type ZipEntry } from '../../../src/lib/zip-stream.ts';
import { run } from '../../support/run.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';

afterAll(() => removeTempDirs());

async function collect(entries: ZipEntry[]): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of zipStream((async function* () { yield* entries; })())) parts.push(c);
  return Buffer.concat(parts);
}

function chunksOf(...chunks: string[]): () => AsyncIterable<Uint8Array> {
  return async function* () {
    for (const c of chunks) yield Buffer.from(c);
  };
}

const LIST = `import sys, zipfile, json
z = zipfile.ZipFile(sys.argv[1])
print(json.dumps([[i.filename, i.file_size, i.date_time[0], z.read(i).decode('utf8', 'replace') if i.file_size < 100 else '', i.is_dir()] for i in z.infolist()]))
z.testzip()`;

describe('zipStream', () => {
  test('files, directories and UTF-8 names read back by zipfile and unzip -t', async () => {
    const dir = tempDir('zip-');
    const zip = join(dir, 'a.zip');
    const when = Date.UTC(2024, 4, 6, 10, 20, 30);
    writeFileSync(zip, await collect([
      { name: 'docs/', mtimeMs: when },
      { name: 'docs/one.txt', mtimeMs: when, data: chunksOf('hel', 'lo', '') },
      { name: 'docs/été.txt', mtimeMs: when, data: chunksOf('accents') },
      { name: 'empty.bin', mtimeMs: 0, data: chunksOf() },
    ]));
    const py = await run('python3', ['-c', LIST, zip]);
    expect(py.stderr).toBe('');
    expect(JSON.parse(py.stdout)).toEqual([
      ['docs/', 0, 2024, '', true],
      ['docs/one.txt', 5, 2024, 'hello', false],
      ['docs/été.txt', 7, 2024, 'accents', false],
      ['empty.bin', 0, 1980, '', false],
    ]);
    expect((await run('unzip', ['-t', zip])).status).toBe(0);
  });

  test('more than 65535 entries: ZIP64 end records', async () => {
    const dir = tempDir('zip64-');
    const zip = join(dir, 'many.zip');
    const entries: ZipEntry[] = [];
    for (let i = 0; i < 70_000; i++) entries.push({ name: `f${i}`, mtimeMs: Date.UTC(2020, 0, 1), data: chunksOf(String(i)) });
    writeFileSync(zip, await collect(entries));
    const py = await run('python3', ['-c', 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); l = z.infolist(); print(len(l), z.read("f69999").decode()); assert z.testzip() is None', zip]);
    expect(py.stderr).toBe('');
    expect(py.stdout.trim()).toBe('70000 69999');
  });
});

describe('zipStream with method deflate', () => {
  test('files are deflated as they stream: smaller, and read back whole by zipfile and unzip -t', async () => {
    const dir = tempDir('zip-deflate-');
    const zip = join(dir, 'd.zip');
    const line = 'the same line, again and again\n';
    const chunks = Array.from({ length: 2000 }, () => line);
    const parts: Uint8Array[] = [];
    const entries: ZipEntry[] = [
      { name: 'dir/', mtimeMs: Date.UTC(2024, 0, 1) },
      { name: 'dir/text.txt', mtimeMs: Date.UTC(2024, 0, 1), data: chunksOf(...chunks) },
      { name: 'empty.txt', mtimeMs: Date.UTC(2024, 0, 1), data: chunksOf() },
    ];
    for await (const c of zipStream((async function* () { yield* entries; })(), { method: 'deflate' })) parts.push(c);
    const bytes = Buffer.concat(parts);
    writeFileSync(zip, bytes);
    expect(bytes.length).toBeLessThan(line.length * 2000 / 10);
    const py = await run('python3', ['-c', 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); print([(i.filename, i.compress_type, i.file_size) for i in z.infolist()]); print(len(z.read("dir/text.txt"))); assert z.testzip() is None', zip]);
    expect(py.stderr).toBe('');
    expect(py.stdout.trim().split('\n')).toEqual([`[('dir/', 0, 0), ('dir/text.txt', 8, ${line.length * 2000}), ('empty.txt', 8, 0)]`, String(line.length * 2000)]);
    expect((await run('unzip', ['-t', zip])).status).toBe(0);
  });

  test('a source that fails mid-entry fails the archive', async () => {
    const failing: ZipEntry = {
      name: 'bad.bin',
      mtimeMs: 0,
      data: async function* () {
        yield Buffer.from('some bytes');
        throw new Error('read failed');
      },
    };
    const read = async () => {
      for await (const _ of zipStream((async function* () { yield failing; })(), { method: 'deflate' }));
    };
    await expect(read()).rejects.toThrow('read failed');
  });
});
