/**
 * How many values a JSON text holds, counted on its bytes without building anything.
 *
 * JSON.parse's memory follows the number of values more than the number of bytes: a 30 MiB
 * body of `{},` is 10 million objects, and took ccp from 54 MB to 941 MB
 * (scripts/bench/body-memory.ts). Counting them first lets a request be refused before that
 * tree exists.
 *
 * A node is any value: an object, an array, a string, a number, true, false or null. A
 * member's key is not a node of its own (it comes with its value). In valid JSON,
 *
 *   nodes = 1 + commas + non-empty containers
 *
 * since every value but the root is a member of a container, and a non-empty container has
 * one member more than it has commas. Only the bytes outside strings are looked at one by
 * one; a string is crossed with indexOf (memchr), so a base64 image or a long tool result
 * costs little. Every structural byte is ASCII and no byte of a multi-byte UTF-8 sequence is
 * ASCII, so the bytes can be read without decoding them.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_OBJECT = 0x7b;
const OPEN_ARRAY = 0x5b;
const CLOSE_OBJECT = 0x7d;
const CLOSE_ARRAY = 0x5d;
const SPACE = 0x20;
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
/** Bytes of a string looked at one by one before indexOf takes over. */
const SHORT = 24;

/**
 * A body of n bytes holds at most (n + 1) / 2 nodes: a container takes two bytes, a scalar
 * at least one, and two members are apart by a comma (a first member by its container's
 * bracket). A body this small cannot exceed `limit`, so it need not be counted.
 */
export const mayExceedNodes = (byteLength: number, limit: number): boolean => (byteLength + 1) / 2 > limit;

/**
 * The number of nodes in `bytes`, exact for valid JSON; once it is certain to exceed
 * `limit`, the count stops there and returns a number above `limit`. For invalid JSON the
 * number means nothing (JSON.parse refuses that text anyway), but the scan still ends, in
 * one pass.
 */
export function countJsonNodes(bytes: Uint8Array, limit = Number.POSITIVE_INFINITY): number {
  const n = bytes.length;
  let commas = 0;
  let containers = 0;
  let empty = 0;
  // The last byte outside strings that was not whitespace: an empty container's close follows its open.
  let previous = 0;
  let i = 0;
  while (i < n) {
    const c = bytes[i]!;
    if (c === QUOTE) {
      i = stringEnd(bytes, i + 1);
      previous = QUOTE;
      continue;
    }
    if (c === COMMA || c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (c === COMMA) commas++;
      else containers++;
      // The running count (1 + commas + containers - empty) anticipates at most one member,
      // the one after the innermost open or comma: above limit + 1, the document is over the
      // limit whatever follows.
      if (commas + containers - empty > limit) return 1 + commas + containers - empty;
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      if (previous === OPEN_OBJECT || previous === OPEN_ARRAY) empty++;
    } else if (c === SPACE || c === LF || c === CR || c === TAB) {
      i++;
      continue;
    }
    previous = c;
    i++;
  }
  if (n === 0) return 0;
  return 1 + commas + containers - empty;
}

/**
 * Whether `bytes` nests containers deeper than `maxDepth` (strings crossed as countJsonNodes
 * crosses them). A few hundred kilobytes of `[[[[...` parse fine but overflow the stack of
 * whatever walks the tree recursively afterwards (the token estimate, JSON.stringify).
 */
export function jsonDepthExceeds(bytes: Uint8Array, maxDepth: number): boolean {
  const n = bytes.length;
  let depth = 0;
  let i = 0;
  while (i < n) {
    const c = bytes[i]!;
    if (c === QUOTE) {
      i = stringEnd(bytes, i + 1);
      continue;
    }
    if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (++depth > maxDepth) return true;
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) depth--;
    i++;
  }
  return false;
}

/** The index after the quote that closes a string whose contents start at `from` (n when it never closes). */
function stringEnd(bytes: Uint8Array, from: number): number {
  // Most strings are short (keys, types, ids): a plain loop finds their end sooner than a call.
  const near = Math.min(from + SHORT, bytes.length);
  for (let k = from; k < near; k++) {
    const c = bytes[k];
    if (c === QUOTE) return k + 1;
    if (c === BACKSLASH) break;
  }
  let at = from;
  for (;;) {
    const quote = bytes.indexOf(QUOTE, at);
    if (quote === -1) return bytes.length;
    // Escaped when an odd number of backslashes precede it. Each backslash is looked at by
    // one quote at most (a run of them ends at the previous non-backslash), so this stays linear.
    let slashes = 0;
    for (let k = quote - 1; k >= from && bytes[k] === BACKSLASH; k--) slashes++;
    if ((slashes & 1) === 0) return quote + 1;
    at = quote + 1;
  }
}
