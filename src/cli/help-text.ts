// Reads a command's --help text (its `usage`) into parts: the synopsis, prose, preformatted lines and
// one entry per flag. The man page and the shell completions are rendered from these parts, so the
// help text stays the one place a flag is described.

export interface FlagHelp {
  long: string;
  short?: string;
  /** The value's placeholder (`FILE`, `DIR`, `N`, ...); absent for a switch. */
  arg?: string;
  text: string;
}

export type HelpBlock = { kind: 'prose'; text: string } | { kind: 'pre'; lines: string[] } | { kind: 'flags'; flags: FlagHelp[] };

export interface HelpText {
  /** The synopsis lines (the text up to the first blank line). */
  synopsis: string[];
  blocks: HelpBlock[];
  flags: Map<string, FlagHelp>;
}

const FLAG_LINE = /^ {2,6}(?:-([A-Za-z]), )?--([a-z][a-z0-9-]*)(?: ([A-Z][A-Z:]*))?(?: {2,}(\S.*))?$/;
const CONTINUATION = / {8,}\S/y;

export function parseHelp(usage: string): HelpText {
  const lines = usage.split('\n');
  const blank = lines.indexOf('');
  const synopsis = (blank < 0 ? lines : lines.slice(0, blank)).map((l) => l.trim());
  const blocks: HelpBlock[] = [];
  const flags = new Map<string, FlagHelp>();
  // A blank line ends a block; lines of one kind in a row join it.
  let separated = true;
  const push = (block: HelpBlock) => {
    const last = separated ? undefined : blocks.at(-1);
    separated = false;
    if (last?.kind === 'pre' && block.kind === 'pre') last.lines.push(...block.lines);
    else if (last?.kind === 'flags' && block.kind === 'flags') last.flags.push(...block.flags);
    else blocks.push(block);
  };
  const rest = blank < 0 ? [] : lines.slice(blank + 1);
  for (let i = 0; i < rest.length; i++) {
    const line = rest[i]!;
    if (line === '') {
      separated = true;
      continue;
    }
    const m = FLAG_LINE.exec(line);
    if (m) {
      const texts = m[4] ? [m[4]] : [];
      while (i + 1 < rest.length && (CONTINUATION.lastIndex = 0, CONTINUATION.test(rest[i + 1]!))) texts.push(rest[++i]!.trim());
      const flag: FlagHelp = { long: m[2]!, text: texts.join(' '), ...(m[1] ? { short: m[1] } : {}), ...(m[3] ? { arg: m[3] } : {}) };
      flags.set(flag.long, flag);
      push({ kind: 'flags', flags: [flag] });
    } else if (/^\s/.test(line)) push({ kind: 'pre', lines: [line] });
    else {
      // A prose paragraph runs to the next blank or indented line.
      const para = [line];
      while (i + 1 < rest.length && /^\S/.test(rest[i + 1]!)) para.push(rest[++i]!);
      push({ kind: 'prose', text: para.join(' ') });
      separated = true;
    }
  }
  return { synopsis, blocks, flags };
}
