// Canonical JSON: keys sorted, undefined dropped, so two equal specs serialise identically and a
// plan is a string comparison per resource.
import { oneShot } from '../lib/jit.ts';

export function canonical(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

export function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object' && !(value instanceof Uint8Array)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[k];
      if (v !== undefined) out[k] = sortKeys(v);
    }
    return out;
  }
  return value;
}

/** True when `a` and `b` serialise to the same canonical JSON. */
export function sameCanonical(a: unknown, b: unknown): boolean {
  // Serialising both sides of every field of 10,000 records is most of a no-change plan; a walk
  // that only answers "surely equal" settles nearly all of them, and the rest are serialised.
  return surelyEqual(a, b) || canonical(a) === canonical(b);
}

/**
 * True only when canonical(a) === canonical(b) is certain: equal primitives, arrays of surely equal
 * items, plain objects with the same defined keys (in any order) holding surely equal values.
 * Anything else (NaN, dates, byte arrays, class instances) answers false and is serialised.
 */
function surelyEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!surelyEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b) || !isPlainObject(a) || !isPlainObject(b)) return false;
  let defined = 0;
  for (const k in a) {
    const v = a[k];
    if (v === undefined) continue;
    defined++;
    if (!Object.hasOwn(b, k) || !surelyEqual(v, b[k])) return false;
  }
  for (const k in b) if (b[k] !== undefined) defined--;
  return defined === 0;
}

function isPlainObject(v: object): v is Record<string, unknown> {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Top-level fields whose values differ between two records (both already without meta fields). */
export function changedFields(before: Record<string, unknown>, after: Record<string, unknown>): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].filter((k) => !sameCanonical(before[k], after[k])).sort();
}

// Run over every record by a plan at start (see lib/jit.ts).
oneShot(sortKeys, sameCanonical, surelyEqual, isPlainObject);
