// An Apache htpasswd file for HTTP Basic authentication (the telemetry listener's auth_user_file),
// read as SFTPGo reads it: `user:hash` lines, `#` comments, re-read when its size or modification
// time changes. SFTPGo verifies bcrypt, md5-crypt ($1$) and Apache's $apr1$; so does this. Other
// htpasswd formats ({SHA}, crypt(3) DES, plain text) are refused with the line that has one.
import { readFileSync, statSync } from 'node:fs';
import { verifyPassword } from './passwords.ts';

const SUPPORTED = ['$2y$', '$2a$', '$2b$', '$2x$', '$1$', '$apr1$'];

export interface HtpasswdEntries {
  users: Map<string, string>;
  /** Lines whose hash format is not supported, as `line N: user (format)`. */
  unsupported: string[];
}

export function parseHtpasswd(text: string): HtpasswdEntries {
  const users = new Map<string, string>();
  const unsupported: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const colon = line.indexOf(':');
    if (colon <= 0) return void unsupported.push(`line ${i + 1}: not user:hash`);
    const user = line.slice(0, colon);
    const hash = line.slice(colon + 1).trim();
    if (!SUPPORTED.some((p) => hash.startsWith(p))) {
      const format = hash.startsWith('{SHA}') ? '{SHA}' : hash.startsWith('$') ? hash.slice(0, hash.indexOf('$', 1) + 1) : 'crypt or plain text';
      return void unsupported.push(`line ${i + 1}: ${user} (${format})`);
    }
    users.set(user, hash);
  });
  return { users, unsupported };
}

/** The file's entries, re-read when it changes; a file that turns unreadable keeps the last good entries. */
export class Htpasswd {
  #stamp = '';
  #users = new Map<string, string>();
  #lastProblem: string | undefined;

  /** Reads the file now: throws when it is unreadable or has an entry in a format not supported. */
  constructor(
    readonly path: string,
    private readonly onProblem: (message: string) => void,
  ) {
    const problems = this.#load();
    if (problems) throw new Error(`${path}: ${problems}`);
  }

  #load(): string | undefined {
    let stamp: string;
    try {
      const st = statSync(this.path);
      stamp = `${st.size}:${st.mtimeMs}`;
      if (stamp === this.#stamp) return undefined;
      const { users, unsupported } = parseHtpasswd(readFileSync(this.path, 'utf8'));
      this.#stamp = stamp;
      this.#users = users;
      if (unsupported.length) return `unsupported password formats (use bcrypt, $1$ or $apr1$): ${unsupported.join(', ')}`;
    } catch (err) {
      return `cannot read: ${(err as Error).message}`;
    }
    return undefined;
  }

  async verify(username: string, password: string): Promise<boolean> {
    const problem = this.#load();
    // Told once per new problem, not on every scrape.
    if (problem && problem !== this.#lastProblem) this.onProblem(problem);
    this.#lastProblem = problem;
    const hash = this.#users.get(username);
    return hash !== undefined && (await verifyPassword(password, hash));
  }
}
