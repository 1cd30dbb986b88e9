// `sftpgo man`: the manual page (roff, section 1), rendered from the command table and each
// command's help text, so it cannot fall behind the flags the commands accept.
import type { Command } from './command.ts';
import { parseHelp, type HelpBlock } from './help-text.ts';

export interface ManOptions {
  commands: Record<string, Command>;
  version: string;
  /** The page's date (the build date); omitted when unknown. */
  date?: string;
}

/** Text for roff: backslashes and dashes escaped, and a leading dot or quote kept from being a request. */
function esc(text: string): string {
  return text.replace(/\\/g, '\\e').replace(/-/g, '\\-').replace(/^([.'])/, '\\&$1');
}

/** A macro argument in double quotes. */
function quoted(text: string): string {
  return `"${esc(text).replace(/"/g, '\\(dq')}"`;
}

function block(b: HelpBlock): string[] {
  switch (b.kind) {
    case 'prose':
      return ['.PP', esc(b.text)];
    case 'pre':
      return ['.PP', '.RS 4', '.nf', ...b.lines.map((l) => esc(l.trimEnd())), '.fi', '.RE'];
    case 'flags':
      return b.flags.flatMap((f) => {
        const names = [f.short ? `\\fB\\-${f.short}\\fR, ` : '', `\\fB\\-\\-${esc(f.long)}\\fR`, f.arg ? ` \\fI${esc(f.arg)}\\fR` : ''].join('');
        return ['.TP', names, esc(f.text)];
      });
  }
}

export function renderMan(opts: ManOptions): string {
  const names = Object.keys(opts.commands);
  const out = [
    // The date and version are plain words: a dash there is a hyphen, not a minus to escape.
    `.TH SFTPGO 1 "${opts.date ?? ''}" "sftpgo ${opts.version}" "User Commands"`,
    '.SH NAME',
    'sftpgo \\- SFTP/SCP, FTP/S and WebDAV server whose users are declared in one YAML file',
    '.SH SYNOPSIS',
    '.B sftpgo',
    '.I command',
    '.RI [ flags ]',
    '.SH DESCRIPTION',
    'A file transfer server in the class of SFTPGo. Its users, groups, folders, admins and roles are',
    'declared in one YAML config, validated, and reconciled into an embedded store; the same store',
    'takes changes made through the REST API. Each command below prints its flags with',
    '.BR \\-\\-help .',
    '.SH COMMANDS',
  ];
  for (const name of names) {
    const help = parseHelp(opts.commands[name]!.usage);
    out.push(`.SS ${quoted(name)}`, esc(opts.commands[name]!.summary) + '.', '.PP', '.nf', ...help.synopsis.map(esc), '.fi');
    for (const b of help.blocks) out.push(...block(b));
  }
  out.push(
    '.SH ENVIRONMENT',
    '.TP',
    '.B SFTPGO_CONFIG',
    'the config file when no \\fB\\-\\-config\\fR is given.',
    '.TP',
    '.B SFTPGO_DATA_DIR',
    'the data dir when no \\fB\\-\\-data\\-dir\\fR is given.',
    '.SH EXIT STATUS',
    '0 on success, 1 when the command failed (an invalid config, an unhealthy server), 2 for a usage error.',
    '.SH SEE ALSO',
    '.BR sftp (1),',
    '.BR scp (1),',
    '.BR lftp (1)',
  );
  return out.join('\n') + '\n';
}
