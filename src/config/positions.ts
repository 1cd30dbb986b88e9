// Where a config path is written: the offset of the node at a path (or of its key), in the `yaml`
// package's positioned document or in the plain reader's positions (yaml-plain.ts). Both answer
// alike for a file both read (the fuzz target config-yaml and test/unit/config/positions.test.ts
// hold them to it), so an issue is placed at the same line and column whichever read the file.
import { isMap, isNode, isPair, isScalar, type Document, type Node } from 'yaml';
import type { PathSegment } from './schema-errors.ts';
import type { PlainPositions } from './yaml-plain.ts';

/** Offset of the node at `path` (or of its key when `key`), falling back to the nearest ancestor. */
export function offsetOf(doc: Document, path: readonly PathSegment[], key = false): number {
  let node: unknown = doc.contents;
  let best = isNode(node) ? (node.range?.[0] ?? 0) : 0;
  for (let i = 0; i < path.length; i++) {
    if (!isNode(node)) break;
    const seg = path[i]!;
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) break;
      const last = i === path.length - 1;
      if (last && key && isNode(pair.key)) return (pair.key as Node).range?.[0] ?? best;
      node = pair.value;
      // A key with no value (`bucket:`) has a null node without a range: point at the key.
      if (!isNode(node) || !node.range) return isNode(pair.key) ? ((pair.key as Node).range?.[0] ?? best) : best;
    } else if ('items' in node && Array.isArray((node as { items: unknown[] }).items) && typeof seg === 'number') {
      node = (node as { items: unknown[] }).items[seg];
    } else break;
    if (isNode(node) && node.range) best = node.range[0];
  }
  return best;
}

/** offsetOf for a document the plain reader read: the same walk over its value and positions. */
export function plainOffsetOf(plain: { value: unknown; positions: PlainPositions }, path: readonly PathSegment[], key = false): number {
  let node = plain.value;
  let best = plain.positions.root;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i]!;
    if (Array.isArray(node)) {
      const at = typeof seg === 'number' ? plain.positions.item(node, seg) : undefined;
      if (at === undefined) break;
      node = node[seg as number];
      best = at;
    } else if (typeof node === 'object' && node !== null) {
      const entry = plain.positions.entry(node, String(seg));
      if (!entry) break;
      if (key && i === path.length - 1) return entry.key;
      node = (node as Record<string, unknown>)[String(seg)];
      best = entry.value;
    } else break;
  }
  return best;
}
