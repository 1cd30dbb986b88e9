// The container image's pure parts: which ports a config serves, the layer's entries, the tar
// writer (read back by GNU tar), the embedded-addon finder and the builder's argument checks.
import { afterAll, describe, expect, test } from 'bun:test';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildImage } from '../../../packaging/oci/build.ts';
import { imageEntries, runtimeConfig, servedPorts, type Entry } from '../../../packaging/oci/image.ts';
import { architectureOf, embeddedSharedObjects } from '../../../packaging/oci/libraries.ts';
import { tarArchive } from '../../../packaging/oci/tar.ts';
import { removeTempDirs, tempDir } from '../../support/tmp.ts';

afterAll(removeTempDirs);

/** A minimal ELF64 little-endian header: type, machine, and section headers ending at `size`. */
function elf(opts: { type: number; machine: number; size: number }): Buffer {
  const b = Buffer.alloc(opts.size);
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]).copy(b);
  b.writeUInt16LE(opts.type, 16);
  b.writeUInt16LE(opts.machine, 18);
  b.writeBigUInt64LE(BigInt(opts.size - 64), 0x28);
  b.writeUInt16LE(64, 0x3a);
  b.writeUInt16LE(1, 0x3c);
  return b;
}

describe('servedPorts', () => {
  test('every server binding and telemetry, sorted, each once', () => {
    const yaml = `sftpd:\n  bindings: [{ port: 2022 }, { port: 2222 }]\nftpd:\n  bindings: [{ port: 2121 }]\nwebdavd:\n  bindings: [{ port: 0 }]\nhttpd:\n  bindings: [{ port: 8080 }, { port: 2022 }]\ntelemetry:\n  bind_port: 10000\n`;
    expect(servedPorts(yaml)).toEqual([2022, 2121, 2222, 8080, 10000]);
    expect(servedPorts('')).toEqual([]);
  });

  test('the image exposes what its config file serves', () => {
    const config = join(tempDir('sftpgo-oci-unit-'), 'sftpgo.yaml');
    writeFileSync(config, 'sftpd:\n  bindings: [{ address: 0.0.0.0, port: 2022 }]\nhttpd:\n  bindings: [{ address: 0.0.0.0, port: 8080 }]\n');
    expect(runtimeConfig({ config }).ExposedPorts).toEqual({ '2022/tcp': {}, '8080/tcp': {} });
    expect(runtimeConfig().ExposedPorts).toEqual({ '2022/tcp': {} });
  });
});

describe('imageEntries', () => {
  const entries = imageEntries({ binary: '/build/sftpgo', libraries: ['/lib64/ld-linux-x86-64.so.2', '/lib/x86_64-linux-gnu/libc.so.6'], caBundle: '/ca.crt' });

  test('sorted, every parent directory listed before its children', () => {
    const paths = entries.map((e) => e.path);
    expect(paths).toEqual([...paths].sort());
    for (const e of entries) {
      const parent = e.path.slice(0, e.path.lastIndexOf('/'));
      if (parent) expect(entries.find((p) => p.path === parent)?.type).toBe('dir');
    }
    expect(new Set(paths).size).toBe(paths.length);
  });

  test('the files land at their image paths from their sources', () => {
    const byPath = new Map(entries.map((e) => [e.path, e]));
    expect(byPath.get('/usr/bin/sftpgo')).toMatchObject({ source: '/build/sftpgo', mode: 0o755, uid: 0 });
    expect(byPath.get('/lib/x86_64-linux-gnu/libc.so.6')).toMatchObject({ source: '/lib/x86_64-linux-gnu/libc.so.6', mode: 0o755 });
    expect(byPath.get('/etc/ssl/certs/ca-certificates.crt')).toMatchObject({ source: '/ca.crt', mode: 0o644 });
    expect(byPath.get('/etc/sftpgo/sftpgo.yaml')?.source).toMatch(/packaging\/oci\/sftpgo\.yaml$/);
    expect(byPath.get('/var/lib/sftpgo')).toMatchObject({ type: 'dir', mode: 0o750, uid: 1000, gid: 1000 });
    expect(byPath.get('/tmp')).toMatchObject({ type: 'dir', mode: 0o1777, uid: 0 });
    expect(entries.filter((e) => e.uid !== 0).map((e) => e.path)).toEqual(['/var/lib/sftpgo']);
  });
});

describe('tarArchive', () => {
  test('GNU tar reads it back: names (long ones split into prefix), modes, owners, sizes, mtime', () => {
    const long = `/${'d'.repeat(90)}/${'f'.repeat(90)}`;
    const entries: Entry[] = [
      { path: '/dir', type: 'dir', mode: 0o1777, uid: 0, gid: 0 },
      { path: '/dir/file', type: 'file', mode: 0o640, uid: 1000, gid: 1000, data: Buffer.from('hello') },
      { path: long.slice(0, 91), type: 'dir', mode: 0o755, uid: 0, gid: 0 },
      { path: long, type: 'file', mode: 0o644, uid: 0, gid: 0, data: Buffer.alloc(513, 1) },
    ];
    const tar = tarArchive(entries, (e) => e.data!, { mtime: 1700000000, names: { 0: 'root', 1000: 'sftpgo' } });
    expect(tar.length % 512).toBe(0);
    const file = join(tempDir('sftpgo-tar-'), 'a.tar');
    writeFileSync(file, tar);
    const r = spawnSync('tar', ['-tvf', file, '--numeric-owner', '--full-time'], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } });
    expect(r.stderr).toBe('');
    const lines = r.stdout.trim().split('\n').map((l) => l.split(/\s+/));
    expect(lines.map((l) => [l[0], l[1], l[2], l[5]])).toEqual([
      ['drwxrwxrwt', '0/0', '0', 'dir/'],
      ['-rw-r-----', '1000/1000', '5', 'dir/file'],
      ['drwxr-xr-x', '0/0', '0', `${long.slice(1, 91)}/`],
      ['-rw-r--r--', '0/0', '513', long.slice(1)],
    ]);
    expect(lines.every((l) => `${l[3]} ${l[4]}` === '2023-11-14 22:13:20')).toBe(true);
    // Same entries, same bytes.
    expect(tarArchive(entries, (e) => e.data!, { mtime: 1700000000, names: { 0: 'root', 1000: 'sftpgo' } }).equals(tar)).toBe(true);
  });
});

describe('the binary\'s ELF headers', () => {
  test('architecture from the machine field; anything else refused', () => {
    expect(architectureOf(elf({ type: 2, machine: 62, size: 128 }))).toBe('amd64');
    expect(architectureOf(elf({ type: 2, machine: 183, size: 128 }))).toBe('arm64');
    expect(() => architectureOf(elf({ type: 2, machine: 40, size: 128 }))).toThrow(/amd64 or arm64/);
    expect(() => architectureOf(Buffer.from('#!/bin/sh\n'.padEnd(64)))).toThrow(/ELF/);
  });

  test('embedded shared objects of the same machine are cut out whole; other matches are skipped', () => {
    const so = elf({ type: 3, machine: 62, size: 200 });
    const binary = Buffer.concat([
      elf({ type: 2, machine: 62, size: 128 }),
      elf({ type: 10, machine: 0, size: 100 }), // the magic as data, not an object
      so,
      elf({ type: 3, machine: 183, size: 150 }), // another machine's addon
      Buffer.alloc(10),
    ]);
    const found = embeddedSharedObjects(binary);
    expect(found).toHaveLength(1);
    expect(found[0]!.equals(so)).toBe(true);
  });
});

describe('buildImage', () => {
  test('a version that cannot be an image tag is refused before anything is read', () => {
    expect(() => buildImage({ binary: '/nonexistent', version: '1.0+build' })).toThrow(/not a valid image tag/);
    expect(() => buildImage({ binary: '/nonexistent', version: '' })).toThrow(/not a valid image tag/);
  });
});
