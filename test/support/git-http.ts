// A Git smart-HTTP server for tests: Debian's `git http-backend` (CGI) behind node:http, serving
// the bare repositories under one directory, with HTTP Basic auth checked against one token so that
// a client's credentials are really exercised. Tests push to the bare repositories with the `git`
// CLI on the file system and let the server under test fetch them over HTTP.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';

const HTTP_BACKEND = '/usr/lib/git-core/git-http-backend';

export interface GitHttpServer {
  /** `http://127.0.0.1:<port>`; a repository `name.git` is at `${url}/name.git`. */
  url: string;
  /** Requests answered 401 so far (missing or wrong credentials). */
  refused(): number;
  close(): Promise<void>;
}

export interface GitHttpOptions {
  /** Directory holding the bare repositories. */
  root: string;
  /** The password Basic auth must carry (any user name). */
  token: string;
}

/** Runs one request through git http-backend and copies its CGI answer into `res`. */
function runBackend(req: IncomingMessage, res: ServerResponse, body: Buffer, root: string, user: string): void {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    GIT_PROJECT_ROOT: root,
    GIT_HTTP_EXPORT_ALL: '1',
    REQUEST_METHOD: req.method ?? 'GET',
    PATH_INFO: decodeURIComponent(url.pathname),
    QUERY_STRING: url.search.slice(1),
    CONTENT_TYPE: req.headers['content-type'] ?? '',
    CONTENT_LENGTH: String(body.length),
    REMOTE_USER: user,
    REMOTE_ADDR: req.socket.remoteAddress ?? '',
    ...(req.headers['content-encoding'] ? { HTTP_CONTENT_ENCODING: String(req.headers['content-encoding']) } : {}),
    ...(req.headers['git-protocol'] ? { GIT_PROTOCOL: String(req.headers['git-protocol']) } : {}),
  };
  const cgi = spawn(HTTP_BACKEND, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  const chunks: Buffer[] = [];
  cgi.stdout.on('data', (d: Buffer) => chunks.push(d));
  cgi.stderr.resume();
  cgi.stdin.end(body);
  cgi.on('close', () => {
    const out = Buffer.concat(chunks);
    const split = out.indexOf('\r\n\r\n');
    const headEnd = split >= 0 ? split : out.indexOf('\n\n');
    const sepLen = split >= 0 ? 4 : 2;
    if (headEnd < 0) {
      res.writeHead(500).end('git http-backend gave no headers');
      return;
    }
    let status = 200;
    const headers: Record<string, string> = {};
    for (const line of out.subarray(0, headEnd).toString('latin1').split(/\r?\n/)) {
      const colon = line.indexOf(':');
      if (colon < 0) continue;
      const name = line.slice(0, colon).trim();
      const value = line.slice(colon + 1).trim();
      if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10);
      else headers[name] = value;
    }
    res.writeHead(status, headers).end(out.subarray(headEnd + sepLen));
  });
}

export async function startGitHttpServer(opts: GitHttpOptions): Promise<GitHttpServer> {
  let refused = 0;
  const server = createServer((req, res) => {
    const auth = req.headers.authorization ?? '';
    const [user, ...pass] = auth.startsWith('Basic ') ? Buffer.from(auth.slice(6), 'base64').toString().split(':') : [];
    if (!user || pass.join(':') !== opts.token) {
      refused++;
      res.writeHead(401, { 'www-authenticate': 'Basic realm="git"' }).end('authentication required');
      return;
    }
    const body: Buffer[] = [];
    req.on('data', (d: Buffer) => body.push(d));
    req.on('end', () => runBackend(req, res, Buffer.concat(body), opts.root, user));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    refused: () => refused,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function git(args: string[], cwd: string): string {
  const r = spawnSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, GIT_AUTHOR_NAME: 'test', GIT_AUTHOR_EMAIL: 'test@example.com', GIT_COMMITTER_NAME: 'test', GIT_COMMITTER_EMAIL: 'test@example.com' },
  });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

/** A bare repository `<root>/<name>.git` and a work tree that commits and pushes to it. */
export class ConfigRepo {
  readonly bare: string;
  readonly work: string;

  constructor(root: string, name: string, readonly branch = 'main') {
    this.bare = join(root, `${name}.git`);
    this.work = join(root, `${name}-work`);
    mkdirSync(this.bare, { recursive: true });
    git(['init', '--bare', '-q', '-b', branch], this.bare);
    mkdirSync(this.work, { recursive: true });
    git(['init', '-q', '-b', branch], this.work);
    git(['remote', 'add', 'origin', this.bare], this.work);
  }

  /** Writes `files` (path → text), commits them and pushes; returns the new commit's id. */
  push(files: Record<string, string>, message: string): string {
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(this.work, path)), { recursive: true });
      writeFileSync(join(this.work, path), text);
    }
    git(['add', '-A'], this.work);
    git(['commit', '-q', '-m', message], this.work);
    git(['push', '-q', 'origin', this.branch], this.work);
    return this.head();
  }

  /** Moves the branch back to `commit` and force-pushes it (a rewritten history). */
  rewind(commit: string): void {
    git(['reset', '-q', '--hard', commit], this.work);
    git(['push', '-q', '-f', 'origin', this.branch], this.work);
  }

  /** The id of the last commit pushed. */
  head(): string {
    return git(['rev-parse', 'HEAD'], this.work);
  }
}
