// The shape of one CLI command. The table of commands (main.ts) is the one source for dispatch,
// --help, the man page and the shell completions.
import type { ParseArgsConfig } from 'node:util';

export type Options = NonNullable<ParseArgsConfig['options']>;
export type Flags = Record<string, string | boolean | (string | boolean)[] | undefined>;

export interface Command {
  summary: string;
  /** The --help text: a synopsis line, a blank line, then prose and one line per flag. */
  usage: string;
  options: Options;
  /**
   * SFTPGo flags this command does not implement, by long name (or `-x` for a short one), each with
   * why: they are refused with that message rather than taken for a typo.
   */
  refused?: Record<string, string>;
  /** The one argument the command takes besides flags, with its choices (e.g. a shell name). */
  positional?: { name: string; values: string[] };
  /** Free-form names the command takes after its flags (explain's USER PATH OPERATION). */
  positionals?: boolean;
  run(flags: Flags, positionals: string[]): Promise<number>;
}
