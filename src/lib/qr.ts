// QR codes for the web pages (share links, TOTP enrolment): the matrix comes from qrcode-generator,
// the markup is ours, so it is one SVG path with no inline style and passes a strict CSP.
import qrcode from 'qrcode-generator';

export interface QrMatrix {
  size: number;
  dark(row: number, col: number): boolean;
}

/** The QR matrix of `text` (UTF-8, byte mode, error correction M, smallest version that fits). */
export function qrMatrix(text: string): QrMatrix {
  const code = qrcode(0, 'M');
  // byte mode takes one char per byte: hand it the UTF-8 bytes so non-ASCII text survives
  code.addData(Buffer.from(text, 'utf8').toString('latin1'), 'Byte');
  code.make();
  return { size: code.getModuleCount(), dark: (r, c) => code.isDark(r, c) };
}

const QUIET = 4;

/** An SVG of `text`'s QR code with the standard 4-module quiet zone, scaled by the page. */
export function qrSvg(text: string, options: { title?: string } = {}): string {
  const m = qrMatrix(text);
  const full = m.size + QUIET * 2;
  let d = '';
  for (let r = 0; r < m.size; r++) {
    for (let c = 0; c < m.size; c++) {
      if (m.dark(r, c)) d += `M${c + QUIET} ${r + QUIET}h1v1h-1z`;
    }
  }
  const title = options.title ? `<title>${escapeXml(options.title)}</title>` : '';
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${full} ${full}" shape-rendering="crispEdges" role="img">${title}<rect width="${full}" height="${full}" fill="#fff"/><path fill="#000" d="${d}"/></svg>`;
}

/** A binary PGM image of the code, `scale` pixels a module: what an independent decoder reads. */
export function qrPgm(text: string, scale = 4): Buffer {
  const m = qrMatrix(text);
  const px = (m.size + QUIET * 2) * scale;
  const header = Buffer.from(`P5\n${px} ${px}\n255\n`, 'ascii');
  const body = Buffer.alloc(px * px, 255);
  for (let r = 0; r < m.size; r++) {
    for (let c = 0; c < m.size; c++) {
      if (!m.dark(r, c)) continue;
      const x = (c + QUIET) * scale;
      for (let y = (r + QUIET) * scale, end = y + scale; y < end; y++) body.fill(0, y * px + x, y * px + x + scale);
    }
  }
  return Buffer.concat([header, body]);
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}
