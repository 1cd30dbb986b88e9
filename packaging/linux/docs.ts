// The package's copyright file and Debian changelog, written from the project's own facts: the
// licence field of package.json and of every npm package the binary is built from.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { PACKAGE_NAME } from './layout.ts';

interface PackageJson {
  name: string;
  version: string;
  license?: string;
  licenses?: { type: string }[];
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

function licenceOf(pkg: PackageJson): string {
  return pkg.license ?? pkg.licenses?.map((l) => l.type).join(' or ') ?? 'unknown';
}

/** The production dependency tree, resolved as the bundler resolves it, with each package's licence. */
function bundledPackages(root: string): Map<string, string> {
  const seen = new Map<string, string>();
  const walk = (name: string, from: string): void => {
    let file: string;
    try {
      file = createRequire(join(from, 'package.json')).resolve(`${name}/package.json`);
    } catch {
      return; // an optional dependency for another platform
    }
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as PackageJson;
    if (seen.has(pkg.name)) return;
    seen.set(pkg.name, licenceOf(pkg));
    for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) walk(dep, dirname(file));
  };
  const top = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as PackageJson;
  for (const dep of Object.keys(top.dependencies ?? {})) walk(dep, root);
  return seen;
}

/** A machine-readable (DEP-5) copyright file. */
export function copyrightFile(root: string, year: number): string {
  const top = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as PackageJson;
  const own = top.license;
  const byLicence = new Map<string, string[]>();
  for (const [name, licence] of bundledPackages(root)) byLicence.set(licence, [...(byLicence.get(licence) ?? []), name]);
  const bundled = [...byLicence]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([licence, names]) => wrap(`${licence}: ${names.sort().join(', ')}`))
    .join('\n .\n');
  return [
    'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/',
    `Upstream-Name: ${PACKAGE_NAME}`,
    'Comment: /usr/bin/sftpgo is one executable made with `bun build --compile`:',
    ' the Bun runtime (MIT; its JavaScriptCore engine is LGPL-2 and BSD) with the',
    ' project and these npm packages embedded, grouped by the licence each declares:',
    ' .',
    bundled,
    '',
    'Files: *',
    `Copyright: ${year} the ${PACKAGE_NAME} authors`,
    own
      ? `License: ${own}`
      : 'License: not-yet-licensed\n No licence has been declared for this project yet (package.json has no\n "license" field); until one is, all rights are reserved by its authors.',
    '',
  ].join('\n');
}

/** Continuation lines of a DEP-5 field: each starts with a space and stays within 80 columns. */
function wrap(text: string): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > 78) {
      lines.push(` ${line}`);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  lines.push(` ${line}`);
  return lines.join('\n');
}

/** A one-entry Debian changelog for this build. */
export function debianChangelog(opts: { version: string; maintainer: string; date: Date }): string {
  return [
    `${PACKAGE_NAME} (${opts.version}) unstable; urgency=medium`,
    '',
    `  * Package of ${PACKAGE_NAME} ${opts.version.replace(/-[^-]*$/, '')}, built from the release binary.`,
    '',
    ` -- ${opts.maintainer}  ${rfc2822(opts.date)}`,
    '',
  ].join('\n');
}

function rfc2822(d: Date): string {
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n: number) => String(n).padStart(2, '0');
  return `${days[d.getUTCDay()]}, ${p(d.getUTCDate())} ${months[d.getUTCMonth()]} ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}
