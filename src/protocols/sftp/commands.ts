// SSH "exec" requests: the commands SFTPGo answers itself (hash sums, cd, pwd, sftpgo-copy) and scp.
// There is never a shell: anything else gets an error message and a non-zero exit status.
import { AppError } from '../../errors.ts';
import { actions } from '../../core/actions.ts';
import { copyPath } from '../../core/copy.ts';
import type { Connection, Protocol } from '../../core/connection.ts';
import type { ServerChannel } from '../../lib/ssh2.ts';
import { ScpSession, parseScpArgs } from './scp.ts';

export const DEFAULT_SSH_COMMANDS = ['md5sum', 'sha1sum', 'sha256sum', 'cd', 'pwd', 'scp'];
const ALL_COMMANDS = ['md5sum', 'sha1sum', 'sha256sum', 'sha512sum', 'cd', 'pwd', 'scp', 'sftpgo-copy'];
const HASHES = { md5sum: 'md5', sha1sum: 'sha1', sha256sum: 'sha256', sha512sum: 'sha512' } as const;

export function enabledCommands(configured: readonly string[] | undefined): Set<string> {
  const list = configured ?? DEFAULT_SSH_COMMANDS;
  return new Set(list.includes('*') ? ALL_COMMANDS : list);
}

/** Splits a command line the way a POSIX shell would split words (quotes and backslashes only). */
export function splitCommand(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < line.length && '"\\$`'.includes(line[i + 1]!)) cur += line[++i];
      else cur += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < line.length) {
      cur += line[++i];
      inWord = true;
    } else if (c === ' ' || c === '\t' || c === '\n') {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) out.push(cur);
  return out;
}

/** The protocol a command's channel runs: scp moves files as SCP, every other command is SSH. */
export function commandProtocol(line: string): Protocol {
  return splitCommand(line)[0] === 'scp' ? 'SCP' : 'SSH';
}

function finish(ch: ServerChannel, code: number): void {
  try {
    ch.exit(code);
    ch.end();
  } catch {
    // Client already gone.
  }
}

export async function runCommand(ch: ServerChannel, conn: Connection, line: string, enabled: Set<string>): Promise<void> {
  const words = splitCommand(line);
  const name = words[0] ?? '';
  if (!enabled.has(name)) {
    conn.context.log('info', 'ssh_command_refused', { connection: conn.id, username: conn.username, command: name });
    ch.stderr.write(`command not supported: ${name || '(empty)'}\n`);
    return finish(ch, 127);
  }
  conn.context.log('info', 'ssh_command', { connection: conn.id, username: conn.username, command: name });
  // The file a hash command names, for the ssh_cmd action (scp reports uploads and downloads instead).
  let target: string | undefined;
  try {
    if (name === 'scp') {
      const args = parseScpArgs(words.slice(1));
      if (!args) {
        ch.stderr.write('scp: unsupported arguments\n');
        return finish(ch, 1);
      }
      return finish(ch, await new ScpSession(ch, conn, args).run());
    }
    if (name === 'pwd' || name === 'cd') {
      // A session starts at its start directory (filters.start_directory, "/" by default, which is
      // SFTPGo's pwd answer) and a command cannot change it; clients use these to probe.
      ch.write(`${conn.fs.startDirectory}\n`);
      await actions.notify(conn, 'ssh_cmd', undefined, { sshCmd: name });
      conn.context.metrics.countSshCommand(true);
      return finish(ch, 0);
    }
    if (name === 'sftpgo-copy') {
      const args = words.slice(1);
      if (args.length !== 2) throw new AppError('invalid', 'usage: sftpgo-copy <source> <destination>');
      target = conn.fs.path(args[0]!);
      const written = await copyPath({ conn, from: args[0]!, to: args[1]! });
      ch.write('OK\n');
      await actions.notify(conn, 'ssh_cmd', target, { sshCmd: name, target: written });
      return finish(ch, 0);
    }
    const algo = HASHES[name as keyof typeof HASHES];
    const files = words.slice(1);
    if (files.length === 0) throw new AppError('invalid', `${name}: a file name is required`);
    for (const f of files) {
      target = conn.fs.path(f);
      const digest = await conn.fs.checksum(target, algo);
      ch.write(`${digest}  ${f}\n`);
    }
    await actions.notify(conn, 'ssh_cmd', conn.fs.path(files[0]!), { sshCmd: name });
    conn.context.metrics.countSshCommand(true);
    return finish(ch, 0);
  } catch (err) {
    if (name !== 'scp') {
      await actions.notify(conn, 'ssh_cmd', target, { sshCmd: name, error: err });
      conn.context.metrics.countSshCommand(false);
    }
    const msg = err instanceof AppError ? err.message : String((err as Error)?.message ?? err);
    try {
      ch.stderr.write(`${name}: ${msg}\n`);
    } catch {
      // Client gone.
    }
    return finish(ch, 1);
  }
}
