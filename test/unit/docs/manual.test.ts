// The manual holds together: every relative link in README.md, docs/*.md and the gitops template's
// README reaches an existing file and, when it names one, a heading of that file (slugged as GitHub
// slugs it); the README stays short; its first config is valid; and the generated configuration
// reference matches the schema.
import { describe, expect, test } from 'bun:test';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { parseConfigText } from '../../../src/config/load.ts';
import { BUN, ROOT } from '../../support/server.ts';

const PAGES = ['README.md', 'examples/gitops/README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

/** The lines of a Markdown file outside fenced code blocks. */
function prose(text: string): string[] {
  let fenced = false;
  return text.split('\n').filter((line) => {
    if (/^\s*```/.test(line)) {
      fenced = !fenced;
      return false;
    }
    return !fenced;
  });
}

/** GitHub's anchors for a file's headings: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function headingAnchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const line of prose(text)) {
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const rendered = m[1]!.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/`/g, '');
    const base = rendered.toLowerCase().replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '').replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

/** Inline links `[text](target)` outside code. */
function links(text: string): string[] {
  const out: string[] = [];
  for (const line of prose(text)) {
    const bare = line.replace(/`[^`]*`/g, '');
    for (const m of bare.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) out.push(m[1]!);
  }
  return out;
}

describe('the manual', () => {
  test('GitHub anchors are computed as GitHub does', () => {
    expect([...headingAnchors('# A\n## Metrics (`telemetry`)\n## FTP/S\n## Overrides: the rules\n## ip_lists\n## A\n```\n# not a heading\n```\n')]).toEqual([
      'a',
      'metrics-telemetry',
      'ftps',
      'overrides-the-rules',
      'ip_lists',
      'a-1',
    ]);
  });

  for (const page of PAGES) {
    test(`${page}: every relative link resolves`, () => {
      const text = readFileSync(join(ROOT, page), 'utf8');
      const broken: string[] = [];
      for (const link of links(text)) {
        if (/^[a-z]+:/i.test(link)) continue;
        const [path, anchor] = link.split('#') as [string, string | undefined];
        const target = path === '' ? join(ROOT, page) : resolve(ROOT, dirname(page), decodeURIComponent(path));
        const rel = relative(ROOT, target);
        if (rel.startsWith('..')) {
          broken.push(`${link}: outside the repository`);
          continue;
        }
        if (!existsSync(target)) {
          broken.push(`${link}: no such file`);
          continue;
        }
        if (anchor === undefined) continue;
        if (statSync(target).isDirectory() || !target.endsWith('.md')) {
          broken.push(`${link}: an anchor in a file that is not Markdown`);
          continue;
        }
        if (!headingAnchors(readFileSync(target, 'utf8')).has(anchor)) broken.push(`${link}: no heading with that anchor in ${rel}`);
      }
      expect(broken).toEqual([]);
    });
  }

  test('the index links every page of the manual', () => {
    const index = readFileSync(join(ROOT, 'docs/README.md'), 'utf8');
    const linked = new Set(links(index).map((l) => l.split('#')[0]));
    for (const page of PAGES.filter((p) => p.startsWith('docs/') && p !== 'docs/README.md')) expect(linked).toContain(page.slice('docs/'.length));
  });
});

describe('the README', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');

  test('stays short: the manual is in docs/', () => {
    expect(readme.split('\n').length).toBeLessThan(220);
  });

  test('keeps its sections: set up, install, commands, a first config, the manual', () => {
    const sections = readme.split('\n').filter((l) => l.startsWith('## '));
    for (const s of ['## Set up', '## Install', '## Commands', '## A first config', '## The manual']) expect(sections).toContain(s);
  });

  test('its first config is valid', () => {
    const section = readme.slice(readme.indexOf('## A first config'));
    const yaml = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
    expect(yaml).toBeDefined();
    process.env.ALICE_PASSWORD = 'change-me';
    const r = parseConfigText(yaml!, 'sftpgo.yaml', ROOT);
    expect(r.ok ? [] : r.issues).toEqual([]);
  });
});

test('docs/configuration-reference.md is generated from the current schema', () => {
  const r = spawnSync(BUN, [join(ROOT, 'scripts/gen-docs.ts'), '--check'], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const reference = readFileSync(join(ROOT, 'docs/configuration-reference.md'), 'utf8');
  expect(reference).toContain('- `common.defender.ban_time` (number; > 0; default `30`)');
  expect(reference).toContain('- `ftpd.enable_site`: the SITE command is not implemented');
});
