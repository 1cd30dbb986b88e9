// Config revisions: what each apply records in the store (a keyed hash of the desired state, the
// Git commit or the file's modification time, when, and which server), and the rule that says
// whether a config is older than the one recorded. Servers sharing a store judge their config
// against the record before reconciling, so a replica started with an older file serves the newer
// state instead of reverting it. A server alone on its store (LMDB) applies its file as it always
// did: there is no one to disagree with, and a restored backup of the file must apply.
import { createHmac } from 'node:crypto';
import { statSync } from 'node:fs';
import type { LoadedConfig } from '../config/load.ts';
import type { ConfigRevisionRecord } from '../store/store.ts';
import type { DesiredState } from './desired.ts';

/** Where the config being applied comes from. */
export type RevisionOrigin =
  | { source: 'file'; file: string; mtime: number }
  | {
      source: 'git';
      url: string;
      branch: string;
      path: string;
      commit: string;
      /**
       * Where `commit` stands against a recorded commit on the branch now; throws when the server
       * cannot say (unreachable). Absent when the revision did not come from the server (a start
       * from the kept last applied revision).
       */
      ancestry?: (recorded: string) => Promise<'descendant' | 'stale' | 'off-branch'>;
    };

/** The origin of a local file: its path and modification time (0 when it cannot be read). */
export function fileOrigin(loaded: LoadedConfig): RevisionOrigin {
  let mtime = 0;
  try {
    mtime = statSync(loaded.file).mtimeMs;
  } catch {
    // The embedded default config has no file: it is never newer than a recorded file.
  }
  return { source: 'file', file: loaded.file, mtime: Math.floor(mtime) };
}

/**
 * A hash of the desired state, keyed with the store's digest key: the same config gives the same
 * hash on every server sharing the store, and the record reveals nothing of the passwords in it.
 */
export function desiredHash(desired: DesiredState, digestKey: Buffer): string {
  const kinds = [desired.roles, desired.folders, desired.groups, desired.users, desired.admins, desired.ipLists, desired.eventActions, desired.eventRules];
  // The specs are normalised (keys in one order), so plain JSON is stable; one update of the whole
  // text is several times faster at 10,000 users than one per entry.
  const parts: string[] = [];
  for (const map of kinds) {
    // A separator per kind, so entries never slide from one kind into the next.
    parts.push('\u0001');
    for (const name of [...map.keys()].sort()) parts.push(JSON.stringify([name, map.get(name)]));
  }
  parts.push(desired.prune ? 'prune' : 'keep');
  return createHmac('sha256', digestKey).update(parts.join('\u0000')).digest('base64url');
}

/** The record an apply of `origin` with `hash` writes. */
export function revisionRecord(origin: RevisionOrigin, hash: string, node: string, appliedAt: number): ConfigRevisionRecord {
  const base = { hash, node, applied_at: appliedAt };
  return origin.source === 'git'
    ? { source: 'git', url: origin.url, branch: origin.branch, path: origin.path, revision: origin.commit, ...base }
    : { source: 'file', file: origin.file, mtime: origin.mtime, ...base };
}

/**
 * - `first`: nothing recorded yet; `newer`: apply and record it; `same`: the recorded revision
 *   (reconcile anyway: the plan is empty unless something drifted, and the record stays);
 * - `older`: serve the store's state, reconcile nothing, and say why.
 */
export type Verdict = { kind: 'first' | 'newer' | 'same' } | { kind: 'older'; reason: string };

/** One line naming a recorded revision, for logs, status and `plan`. */
export function describeRecord(r: ConfigRevisionRecord): string {
  const by = `${r.node ? ` by ${r.node}` : ''} at ${new Date(r.applied_at).toISOString()}`;
  return r.source === 'git'
    ? `Git commit ${r.revision} of ${r.url} (${r.branch}:${r.path}) applied${by}`
    : `file ${r.file} modified ${new Date(r.mtime).toISOString()} applied${by}`;
}

export function describeOrigin(o: RevisionOrigin): string {
  return o.source === 'git' ? `Git commit ${o.commit}` : `file ${o.file} modified ${new Date(o.mtime).toISOString()}`;
}

/**
 * The rule, for a store other servers share:
 * - the same desired state as recorded, or the recorded commit, is `same`;
 * - Git, same repository, branch and path: older when the recorded commit is on the branch and this
 *   one does not descend from it, or when the server cannot be asked (a start from the kept
 *   revision while the server is unreachable); a commit the branch dropped (force-push) yields;
 * - a local file against a recorded file: older when its modification time is before the recorded
 *   file's (the file written last wins; equal times are not older);
 * - a change of source (file ↔ Git, another repository, branch or path) is newer: a deliberate move.
 */
export async function judgeRevision(ours: { origin: RevisionOrigin; hash: string }, recorded: ConfigRevisionRecord | undefined): Promise<Verdict> {
  if (!recorded) return { kind: 'first' };
  const o = ours.origin;
  if (o.source === 'git' && recorded.source === 'git') {
    if (o.url !== recorded.url || o.branch !== recorded.branch || o.path !== recorded.path) return { kind: 'newer' };
    if (o.commit === recorded.revision) return { kind: 'same' };
    if (!o.ancestry) return { kind: 'older', reason: 'the Git server could not be reached to compare the commits, and the store has another one' };
    let where: 'descendant' | 'stale' | 'off-branch';
    try {
      where = await o.ancestry(recorded.revision);
    } catch (err) {
      return { kind: 'older', reason: `the commits could not be compared (${(err as Error).message}), and the store has another one` };
    }
    if (where === 'stale') return { kind: 'older', reason: `commit ${recorded.revision} is on the branch and ${o.commit} does not descend from it` };
    return { kind: 'newer' };
  }
  if (o.source === 'file' && recorded.source === 'file') {
    if (recorded.hash === ours.hash) return { kind: 'same' };
    if (o.mtime < recorded.mtime)
      return { kind: 'older', reason: `this file was modified at ${new Date(o.mtime).toISOString()}, before the recorded one (${new Date(recorded.mtime).toISOString()}), and its content differs` };
    return { kind: 'newer' };
  }
  return recorded.hash === ours.hash ? { kind: 'same' } : { kind: 'newer' };
}
