import { describe, expect, test } from 'bun:test';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { qrPgm, qrSvg } from '../../../src/lib/qr.ts';
import { tempDir } from '../../support/tmp.ts';

// zbarimg (Debian's zbar-tools) is an independent decoder: what it reads back is what a phone reads
describe('QR codes', () => {
  for (const text of [
    'https://files.example.com/web/client/pubshares/3f6c2a1b9d?x=1',
    'otpauth://totp/SFTPGo:b%C3%B6b?secret=JBSWY3DPEHPK3PXP&issuer=SFTPGo&algorithm=SHA1&digits=6&period=30',
    'grüße, ünïcödé ✓',
  ]) {
    test(`decodes back: ${text.slice(0, 30)}`, () => {
      const dir = tempDir('qr');
      const file = join(dir, 'code.pgm');
      writeFileSync(file, qrPgm(text));
      const out = execFileSync('zbarimg', ['--raw', '-q', '-Sbinary', file]).toString('utf8');
      expect(out.replace(/\n$/, '')).toBe(text);
    });
  }

  test('the SVG is one path with no style attribute or script', () => {
    const svg = qrSvg('hello', { title: 'a <b>' });
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).not.toContain('style');
    expect(svg).not.toContain('<script');
    expect(svg).toContain('<title>a &#60;b&#62;</title>');
    expect(svg.match(/<path /g)?.length).toBe(1);
  });
});
