// Maps a path into the parsed data back to the YAML node it came from, for line/column in errors.
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument } from "yaml";
import type { Document, Node } from "yaml";

export interface Position {
  line: number;
  column: number;
}

/**
 * Position of the node at `path`, or of the key naming it when `at` is "key". When the path
 * leads through a missing key, the deepest node that exists (the parent map) is reported.
 */
export function locate(
  doc: Document,
  lineCounter: LineCounter,
  path: readonly PropertyKey[],
  at?: "key",
): Position {
  let node: Node | null | undefined = doc.contents;
  let offset = node?.range?.[0] ?? 0;
  for (const [index, segment] of path.entries()) {
    const last = index === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((item) => isPair(item) && keyText(item.key) === String(segment));
      if (!pair) break;
      const keyNode = pair.key as Node | null;
      const valueNode = pair.value as Node | null;
      const keyOffset = keyNode?.range?.[0];
      // `key:` with nothing after it has no value node; point at the key then.
      const valueOffset = valueNode?.range?.[0];
      offset = (last && at === "key" ? keyOffset : (valueOffset ?? keyOffset)) ?? offset;
      node = valueNode;
    } else if (isSeq(node) && typeof segment === "number") {
      const item = node.items[segment] as Node | null | undefined;
      if (!item) break;
      offset = item.range?.[0] ?? offset;
      node = item;
    } else {
      break;
    }
  }
  const { line, col } = lineCounter.linePos(offset);
  return { line: Math.max(line, 1), column: Math.max(col, 1) };
}

function keyText(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value);
  return typeof key === "string" ? key : undefined;
}

/**
 * Position of `path` in a config file's text, for problems found after loading it (an image source
 * the backend cannot use): the same `file:line:col` the load errors give.
 */
export function positionInText(text: string, path: readonly PropertyKey[], at?: "key"): Position {
  const lineCounter = new LineCounter();
  return locate(parseDocument(text, { lineCounter }), lineCounter, path, at);
}
