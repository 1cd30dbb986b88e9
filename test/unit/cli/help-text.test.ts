// The --help reader the man page and completions are rendered from: synopsis, prose, preformatted
// lines, and flags with their placeholder and (possibly wrapped, possibly next-line) description.
import { expect, test } from 'bun:test';
import { parseHelp } from '../../../src/cli/help-text.ts';

const USAGE = `sftpgo thing --input FILE [--mode N]
              [--long-one DIR::PATTERNS]

Does a thing. Prose runs on
to the next line.

Versions:
  1  first
  2  second

  -i, --input FILE     where it reads from
      --mode N         0 one thing, 1 another,
                       2 a third
      --long-one DIR::PATTERNS
                       described on the next line
  -q, --quiet          say less`;

test('synopsis, prose, preformatted lines and flags', () => {
  const h = parseHelp(USAGE);
  expect(h.synopsis).toEqual(['sftpgo thing --input FILE [--mode N]', '[--long-one DIR::PATTERNS]']);
  expect(h.blocks.map((b) => b.kind)).toEqual(['prose', 'prose', 'pre', 'flags']);
  expect(h.blocks[0]).toEqual({ kind: 'prose', text: 'Does a thing. Prose runs on to the next line.' });
  expect(h.blocks[2]).toEqual({ kind: 'pre', lines: ['  1  first', '  2  second'] });
  expect([...h.flags.values()]).toEqual([
    { long: 'input', short: 'i', arg: 'FILE', text: 'where it reads from' },
    { long: 'mode', arg: 'N', text: '0 one thing, 1 another, 2 a third' },
    { long: 'long-one', arg: 'DIR::PATTERNS', text: 'described on the next line' },
    { long: 'quiet', short: 'q', text: 'say less' },
  ]);
});

test('a usage with no body has only a synopsis', () => {
  expect(parseHelp('sftpgo man')).toEqual({ synopsis: ['sftpgo man'], blocks: [], flags: new Map() });
});
