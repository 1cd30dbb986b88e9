// Whether an event rule's conditions hold, with SFTPGo's semantics: names, groups, roles and paths
// are Go path.Match patterns (a pattern with `**` matches across directories, as doublestar does),
// an inverse pattern must hold for every value, sizes bound only transfers. Pure: no I/O.
import type { EventConditionPattern, EventRule } from '../../config/schema-types.ts';
import { compilePattern } from '../patterns.ts';
import type { EventParams } from './params.ts';

/** Events whose file size the min_size / max_size conditions look at. */
const SIZED_EVENTS: ReadonlySet<string> = new Set(['pre-delete', 'pre-upload', 'delete', 'copy', 'download', 'first-upload', 'first-download', 'upload']);

/** `**` as a whole segment matches any number of segments (none included); other segments match one. */
function doublestar(segments: readonly string[], names: readonly string[]): boolean {
  if (segments.length === 0) return names.length === 0;
  const [head, ...rest] = segments;
  if (head === '**') {
    for (let i = 0; i <= names.length; i++) if (doublestar(rest, names.slice(i))) return true;
    return false;
  }
  if (names.length === 0) return false;
  // Inside a segment `**` is two stars: both stop at a separator.
  return compilePattern(head!.replace(/\*\*+/g, '*')).test(names[0]!) && doublestar(rest, names.slice(1));
}

/** Whether `name` matches the pattern (before inverse_match); a malformed pattern matches nothing. */
export function patternMatches(pattern: string, name: string): boolean {
  try {
    if (pattern.includes('**')) return doublestar(pattern.split('/'), name.split('/'));
    return compilePattern(pattern).test(name);
  } catch {
    return false;
  }
}

function holds(p: EventConditionPattern, name: string): boolean {
  const m = patternMatches(p.pattern, name);
  return p.inverse_match ? !m : m;
}

/**
 * No patterns: true. Otherwise a plain pattern that matches is enough, and every inverse pattern
 * met on the way must hold (SFTPGo's checkEventConditionPatterns).
 */
export function patternsHold(name: string, patterns: readonly EventConditionPattern[] | undefined): boolean {
  if (!patterns?.length) return true;
  let matched = false;
  for (const p of patterns) {
    if (p.inverse_match) {
      if (!holds(p, name)) return false;
      matched = true;
    } else if (holds(p, name)) return true;
  }
  return matched;
}

/** As patternsHold, over each of the user's groups (a user in no group fails any group condition). */
export function groupPatternsHold(groups: readonly string[], patterns: readonly EventConditionPattern[] | undefined): boolean {
  if (!patterns?.length) return true;
  let matched = false;
  for (const g of groups)
    for (const p of patterns) {
      if (p.inverse_match) {
        if (!holds(p, g)) return false;
        matched = true;
      } else if (holds(p, g)) return true;
    }
  return matched;
}

/** The user conditions alone: what an on-demand rule's filesystem actions pick their users by. */
export function userConditionsHold(rule: Pick<EventRule, 'conditions'>, user: { name: string; role: string; groups: readonly string[] }): boolean {
  const o = rule.conditions?.options;
  return patternsHold(user.name, o?.names) && patternsHold(user.role, o?.role_names) && groupPatternsHold(user.groups, o?.group_names);
}

/** Whether a filesystem rule matches the event (its trigger and status are the caller's to check). */
export function fsEventMatches(rule: Pick<EventRule, 'conditions'>, p: EventParams): boolean {
  const c = rule.conditions;
  if (!(c?.fs_events as readonly string[] | undefined)?.includes(p.event)) return false;
  const o = c?.options;
  if (!userConditionsHold(rule, { name: p.name, role: p.role, groups: p.groups })) return false;
  if (!patternsHold(p.virtualPath, o?.fs_paths)) return false;
  if (o?.protocols?.length && !(o.protocols as readonly string[]).includes(p.protocol)) return false;
  if (SIZED_EVENTS.has(p.event)) {
    if (o?.min_size && p.fileSize < o.min_size) return false;
    if (o?.max_size && p.fileSize > o.max_size) return false;
  }
  return true;
}
