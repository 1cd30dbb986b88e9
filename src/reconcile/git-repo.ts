// The config repository of `reconcile.git`, read over smart HTTP with isomorphic-git (pure
// JavaScript, so the binary and the scratch image need no `git`). A check asks the server for the
// branch's head only; a new head is fetched shallow into a fresh directory under the data dir and
// its file at `path` read from there, so nothing accumulates across commits. The last applied
// revision's text is kept beside it, to start from when the repository cannot be reached.
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { addRemote, fetch as gitFetch, init, isDescendent, listServerRefs, readBlob, type GitHttpRequest, type GitHttpResponse, type HttpClient } from 'isomorphic-git';
import type { GitSyncSettings } from '../config/schema-types.ts';
import { AppError } from '../errors.ts';

/** How long one HTTP request to the Git server may take before the check fails. */
const REQUEST_TIMEOUT_MS = 30_000;

/** The settings with their defaults applied. */
export interface GitSource {
  url: string;
  branch: string;
  path: string;
  /** Seconds between two checks. */
  interval: number;
  username: string;
  /** The resolved token, or none for anonymous reads. */
  token?: string;
}

export function gitSource(settings: GitSyncSettings, token: string | undefined): GitSource {
  return {
    url: settings.url,
    branch: settings.branch ?? 'main',
    path: settings.path ?? 'sftpgo.yaml',
    interval: settings.interval ?? 60,
    username: settings.username ?? 'git',
    ...(token !== undefined ? { token } : {}),
  };
}

/** A revision's config text, as fetched or as kept from the last apply. */
export interface Revision {
  commit: string;
  text: string;
}

/** What `applied.json` keeps: the source it came from, so a changed url/branch/path never reuses it. */
interface AppliedFile extends Revision {
  url: string;
  branch: string;
  path: string;
}

async function* once(bytes: Uint8Array): AsyncIterableIterator<Uint8Array> {
  yield bytes;
}

/** A request body is a few pack negotiation lines: sent whole, with a length. */
async function collect(body: AsyncIterableIterator<Uint8Array> | undefined): Promise<Uint8Array<ArrayBuffer> | undefined> {
  if (!body) return undefined;
  const parts: Uint8Array[] = [];
  for await (const p of body) parts.push(p);
  return new Uint8Array(Buffer.concat(parts));
}

/**
 * isomorphic-git's HTTP client interface over the runtime's fetch, with a timeout and the caller's
 * abort signal on every request: a server that stops answering, or a shutdown, ends the check.
 */
function httpClient(signal: AbortSignal): HttpClient {
  return {
    async request(req: GitHttpRequest): Promise<GitHttpResponse> {
      const body = await collect(req.body);
      const res = await fetch(req.url, {
        method: req.method ?? 'GET',
        headers: req.headers ?? {},
        ...(body ? { body } : {}),
        signal: AbortSignal.any([signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]),
      });
      const bytes = new Uint8Array(await res.arrayBuffer());
      return {
        url: res.url,
        method: req.method ?? 'GET',
        headers: Object.fromEntries(res.headers),
        body: once(bytes),
        statusCode: res.status,
        statusMessage: res.statusText,
      };
    },
  };
}

/** A Git failure as one line a log reader acts on: a refused token says so. */
export function gitErrorMessage(err: unknown, source: Pick<GitSource, 'url' | 'token'>): string {
  const e = err as { code?: string; data?: { statusCode?: number }; message?: string; name?: string };
  const status = e.data?.statusCode;
  if (status === 401 || status === 403)
    return `${source.url}: the server refused the credentials (HTTP ${status}): ${source.token === undefined ? 'set reconcile.git.token' : 'check reconcile.git.token and username'}`;
  if (e.name === 'TimeoutError') return `${source.url}: no answer within ${REQUEST_TIMEOUT_MS / 1000} s`;
  if (e.code === 'NotFoundError') return `${source.url}: ${e.message}`;
  return `${source.url}: ${(e.message ?? String(err)).split('\n')[0]}`;
}

export class ConfigRepository {
  readonly source: GitSource;
  readonly #dir: string;

  /** `dir`: this repository's directory under the data dir (fetches and the last applied text). */
  constructor(opts: { source: GitSource; dir: string }) {
    this.source = opts.source;
    this.#dir = opts.dir;
  }

  #auth() {
    const { username, token } = this.source;
    return token === undefined
      ? {}
      : {
          onAuth: () => ({ username, password: token }),
          // A refused token is not asked again: the check fails with the server's answer.
          onAuthFailure: () => undefined,
        };
  }

  /** The branch's head commit on the server (one ref advertisement, no objects). */
  async head(signal: AbortSignal): Promise<string> {
    const { url, branch } = this.source;
    const refs = await listServerRefs({ http: httpClient(signal), url, prefix: `refs/heads/${branch}`, ...this.#auth() });
    const ref = refs.find((r) => r.ref === `refs/heads/${branch}`);
    if (!ref) throw new AppError('not_found', `${url}: no branch "${branch}"`);
    return ref.oid;
  }

  /** Fetches the branch's head (depth 1) and reads the file at `path` in it. */
  async fetch(signal: AbortSignal): Promise<Revision> {
    const { url, branch, path } = this.source;
    const gitdir = join(this.#dir, 'fetch');
    rmSync(gitdir, { recursive: true, force: true });
    mkdirSync(gitdir, { recursive: true });
    try {
      await init({ fs, gitdir, bare: true, defaultBranch: branch });
      await addRemote({ fs, gitdir, remote: 'origin', url });
      const r = await gitFetch({ fs, http: httpClient(signal), gitdir, remote: 'origin', ref: branch, singleBranch: true, depth: 1, tags: false, ...this.#auth() });
      const commit = r.fetchHead;
      if (!commit) throw new AppError('not_found', `${url}: no branch "${branch}"`);
      let blob: Uint8Array;
      try {
        ({ blob } = await readBlob({ fs, gitdir, oid: commit, filepath: path }));
      } catch (err) {
        if ((err as { code?: string }).code === 'NotFoundError') throw new AppError('not_found', `${path} is not in commit ${commit.slice(0, 12)}`);
        throw err;
      }
      return { commit, text: Buffer.from(blob).toString('utf8') };
    } finally {
      rmSync(gitdir, { recursive: true, force: true });
    }
  }

  /**
   * Where `commit` stands against `recorded` (the commit a store records as applied) on the branch
   * as the server has it now: `descendant` when it is `recorded` or comes after it, `stale` when
   * `recorded` is on the branch and `commit` does not come after it (an ancestor, or a commit a
   * force-push dropped), `off-branch` when `recorded` is no longer on the branch (a force-push
   * rewound it away: the branch wins). The branch's whole history is fetched, into a directory
   * removed afterwards: this runs only when two servers saw different commits.
   */
  async ancestry(commit: string, recorded: string, signal: AbortSignal): Promise<'descendant' | 'stale' | 'off-branch'> {
    if (commit === recorded) return 'descendant';
    const { url, branch } = this.source;
    const gitdir = join(this.#dir, 'history');
    rmSync(gitdir, { recursive: true, force: true });
    mkdirSync(gitdir, { recursive: true });
    try {
      await init({ fs, gitdir, bare: true, defaultBranch: branch });
      await addRemote({ fs, gitdir, remote: 'origin', url });
      const r = await gitFetch({ fs, http: httpClient(signal), gitdir, remote: 'origin', ref: branch, singleBranch: true, tags: false, ...this.#auth() });
      const head = r.fetchHead;
      if (!head) throw new AppError('not_found', `${url}: no branch "${branch}"`);
      const descends = async (oid: string, ancestor: string): Promise<boolean> => {
        if (oid === ancestor) return true;
        try {
          return await isDescendent({ fs, gitdir, oid, ancestor });
        } catch (err) {
          // A commit the branch's history does not hold is on no path from its head.
          if ((err as { code?: string }).code === 'NotFoundError') return false;
          throw err;
        }
      };
      if (!(await descends(head, recorded))) return 'off-branch';
      return (await descends(commit, recorded)) ? 'descendant' : 'stale';
    } finally {
      rmSync(gitdir, { recursive: true, force: true });
    }
  }

  /** Keeps `revision` as the one to start from when the server cannot be reached. */
  keepApplied(revision: Revision): void {
    const { url, branch, path } = this.source;
    mkdirSync(this.#dir, { recursive: true });
    const file = join(this.#dir, 'applied.json');
    const kept: AppliedFile = { url, branch, path, ...revision };
    writeFileSync(`${file}.tmp`, JSON.stringify(kept));
    renameSync(`${file}.tmp`, file);
  }

  /** The last applied revision of this url, branch and path, if any. */
  applied(): Revision | undefined {
    try {
      const kept = JSON.parse(readFileSync(join(this.#dir, 'applied.json'), 'utf8')) as AppliedFile;
      const { url, branch, path } = this.source;
      if (kept.url !== url || kept.branch !== branch || kept.path !== path) return undefined;
      return { commit: kept.commit, text: kept.text };
    } catch {
      return undefined;
    }
  }
}
