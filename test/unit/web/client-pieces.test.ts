// The web client's pure pieces: how a file is previewed (nothing that can carry script is ever
// shown inline), sizes, the message a user API answer becomes, and share links.
import { describe, expect, test } from 'bun:test';
import { filesHref, flashOf } from '../../../src/web/client/app.tsx';
import { previewKind } from '../../../src/web/client/files.tsx';
import { humanSize } from '../../../src/web/format.ts';
import { shareLink } from '../../../src/web/client/shares.tsx';

describe('web client pieces', () => {
  test('previews: text, images and PDF only; HTML and SVG never', () => {
    expect(previewKind('/a/notes.txt')).toBe('text');
    expect(previewKind('config.yaml')).toBe('text');
    expect(previewKind('data.json')).toBe('text');
    expect(previewKind('server.log')).toBe('text');
    expect(previewKind('README')).toBe('text');
    expect(previewKind('photo.JPG')).toBe('image');
    expect(previewKind('scan.pdf')).toBe('pdf');
    expect(previewKind('page.html')).toBe('none');
    expect(previewKind('logo.svg')).toBe('none');
    expect(previewKind('archive.zip')).toBe('none');
    expect(previewKind('blob.bin')).toBe('none');
  });

  test('sizes', () => {
    expect(humanSize(0)).toBe('0 B');
    expect(humanSize(1023)).toBe('1023 B');
    expect(humanSize(1536)).toBe('1.5 KiB');
    expect(humanSize(20 * 1024 * 1024)).toBe('20.0 MiB');
    expect(humanSize(3 * 1024 ** 4)).toBe('3.0 TiB');
  });

  test("a user API answer becomes the page's message", async () => {
    expect(await flashOf(Response.json({ message: 'Directory "/x" created', error: '' }, { status: 201 }))).toEqual({ kind: 'info', text: 'Directory "/x" created' });
    expect(await flashOf(Response.json({ message: 'Unable to rename "/a" => "/b"', error: 'permission denied' }, { status: 403 }))).toEqual({
      kind: 'error',
      text: 'Unable to rename "/a" => "/b": permission denied',
    });
    expect(await flashOf(new Response('oops', { status: 500 }))).toEqual({ kind: 'error', text: 'refused (500)' });
  });

  test('links', () => {
    expect(shareLink('https://files.example.com', 'ab c')).toBe('https://files.example.com/web/client/pubshares/ab%20c');
    expect(filesHref('/a b')).toBe('/web/client/files?path=%2Fa+b');
    expect(filesHref('/', 3)).toBe('/web/client/files?path=%2F&page=3');
  });
});
