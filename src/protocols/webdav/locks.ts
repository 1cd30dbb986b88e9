// WebDAV write locks (RFC 4918 §6–7), kept in memory per process and per user namespace: a lock
// is on a virtual path of one user, held by that user, and identified by an opaque urn:uuid token.
// Exclusive and shared scopes, depth 0 or infinity, timeouts with refresh. Locks are lost on
// restart (clients re-lock); an expired lock is dropped on the next look-up.
import { randomUUID } from 'node:crypto';
import { isWithin, parentOf } from '../../core/paths.ts';

export interface Lock {
  token: string;
  username: string;
  /** Virtual path of the locked resource. */
  root: string;
  depth: 0 | 'infinity';
  scope: 'exclusive' | 'shared';
  /** The client's DAV:owner element, serialized, echoed back in lockdiscovery. */
  owner: string | undefined;
  timeoutSeconds: number;
  expiresAt: number;
}

export const DEFAULT_TIMEOUT = 3600;
export const MAX_TIMEOUT = 7 * 24 * 3600;
const MAX_LOCKS = 100_000;

/** Parses a Timeout header ("Second-600, Infinite"); the first usable value wins, capped. */
export function parseTimeout(header: string | undefined): number {
  if (!header) return DEFAULT_TIMEOUT;
  for (const part of header.split(',')) {
    const t = part.trim();
    if (/^infinite$/i.test(t)) return MAX_TIMEOUT;
    const m = /^second-(\d{1,12})$/i.exec(t);
    if (m) return Math.min(Math.max(Number(m[1]), 1), MAX_TIMEOUT);
  }
  return DEFAULT_TIMEOUT;
}

export class LockTable {
  readonly #byToken = new Map<string, Lock>();

  #alive(l: Lock, now = Date.now()): boolean {
    if (l.expiresAt > now) return true;
    this.#byToken.delete(l.token);
    return false;
  }

  get(token: string): Lock | undefined {
    const l = this.#byToken.get(token);
    return l && this.#alive(l) ? l : undefined;
  }

  /** Locks whose scope includes `vpath`: on it, or depth-infinity on an ancestor. */
  covering(username: string, vpath: string): Lock[] {
    const out: Lock[] = [];
    for (const l of [...this.#byToken.values()]) {
      if (l.username !== username || !this.#alive(l)) continue;
      if (l.root === vpath || (l.depth === 'infinity' && isWithin(vpath, l.root))) out.push(l);
    }
    return out;
  }

  /** Locks rooted strictly below `vpath` (a depth-infinity lock or a delete of vpath conflicts with them). */
  below(username: string, vpath: string): Lock[] {
    const out: Lock[] = [];
    for (const l of [...this.#byToken.values()]) {
      if (l.username !== username || !this.#alive(l)) continue;
      if (l.root !== vpath && isWithin(l.root, vpath)) out.push(l);
    }
    return out;
  }

  /**
   * Locks that forbid changing `vpath` unless one of their tokens is submitted: those covering it,
   * and, when it is added or removed (`membership`), those covering its parent collection (a
   * depth-0 lock on a collection protects its member list); `subtree` adds locks below it.
   */
  protecting(username: string, vpath: string, opts: { membership?: boolean; subtree?: boolean } = {}): Lock[] {
    const set = new Map<string, Lock>();
    for (const l of this.covering(username, vpath)) set.set(l.token, l);
    if (opts.membership && vpath !== '/') for (const l of this.covering(username, parentOf(vpath))) set.set(l.token, l);
    if (opts.subtree) for (const l of this.below(username, vpath)) set.set(l.token, l);
    return [...set.values()];
  }

  /**
   * Locks that `tokens` do not unlock: locks are grouped by root; a group is unlocked when any of
   * its tokens is submitted (one token of a set of shared locks is enough).
   */
  unmet(locks: readonly Lock[], tokens: ReadonlySet<string>): Lock[] {
    const groups = new Map<string, Lock[]>();
    for (const l of locks) groups.set(l.root, [...(groups.get(l.root) ?? []), l]);
    const out: Lock[] = [];
    for (const g of groups.values()) if (!g.some((l) => tokens.has(l.token))) out.push(...g);
    return out;
  }

  /** Creates a lock, or returns the conflicting lock when one is in the way. */
  create(spec: Omit<Lock, 'token' | 'expiresAt'>): { lock: Lock } | { conflict: Lock } {
    const candidates = [...this.covering(spec.username, spec.root), ...(spec.depth === 'infinity' ? this.below(spec.username, spec.root) : [])];
    for (const l of candidates) if (l.scope === 'exclusive' || spec.scope === 'exclusive') return { conflict: l };
    if (this.#byToken.size >= MAX_LOCKS) this.#sweep();
    const lock: Lock = { ...spec, token: `urn:uuid:${randomUUID()}`, expiresAt: Date.now() + spec.timeoutSeconds * 1000 };
    this.#byToken.set(lock.token, lock);
    return { lock };
  }

  refresh(lock: Lock, timeoutSeconds: number): void {
    lock.timeoutSeconds = timeoutSeconds;
    lock.expiresAt = Date.now() + timeoutSeconds * 1000;
  }

  remove(token: string): boolean {
    return this.#byToken.delete(token);
  }

  /** Drops the locks of a resource that no longer exists (deleted, or moved away: locks do not move). */
  removeTree(username: string, vpath: string): void {
    for (const l of [...this.#byToken.values()]) if (l.username === username && isWithin(l.root, vpath)) this.#byToken.delete(l.token);
  }

  #sweep(): void {
    const now = Date.now();
    for (const l of [...this.#byToken.values()]) this.#alive(l, now);
  }
}
