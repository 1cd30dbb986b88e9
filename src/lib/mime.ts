// Content types by file extension, for the HTTP front-ends' downloads (WebDAV, the user API).
import { posix } from 'node:path';

const TYPES: Record<string, string> = {
  txt: 'text/plain', html: 'text/html', htm: 'text/html', css: 'text/css', csv: 'text/csv', xml: 'application/xml',
  js: 'text/javascript', json: 'application/json', md: 'text/markdown', pdf: 'application/pdf', zip: 'application/zip',
  gz: 'application/gzip', tar: 'application/x-tar', png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg',
  gif: 'image/gif', svg: 'image/svg+xml', webp: 'image/webp', ico: 'image/x-icon', mp3: 'audio/mpeg', mp4: 'video/mp4',
  webm: 'video/webm', wav: 'audio/wav', doc: 'application/msword', xls: 'application/vnd.ms-excel',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  pptx: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  odt: 'application/vnd.oasis.opendocument.text', ods: 'application/vnd.oasis.opendocument.spreadsheet',
  wasm: 'application/wasm', ts: 'text/plain', sh: 'text/x-shellscript', yaml: 'application/yaml', yml: 'application/yaml',
};

/** The content type of a file name; application/octet-stream when the extension is unknown. */
export function contentTypeOf(name: string): string {
  const ext = posix.extname(name).slice(1).toLowerCase();
  return TYPES[ext] ?? 'application/octet-stream';
}
