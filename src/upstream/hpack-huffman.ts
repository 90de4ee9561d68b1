/**
 * HPACK Huffman code (RFC 7541 §5.2, Appendix B): the 257-symbol table and a decoder that reads
 * 4 bits at a time through a state table built once at load. A state is an internal node of the
 * code tree; a step never completes more than one symbol, as no code is shorter than 5 bits.
 * Pure: no allocation per bit or per symbol.
 */
export class HpackError extends Error {
  override readonly name = "HpackError";
}

/** Appendix B as (code, bit length) pairs for symbols 0..256; 256 is EOS. Codes are LSB-aligned. */
// biome-ignore format: the RFC's table, eight symbols a row
const TABLE = [
  0x1ff8, 13, 0x7fffd8, 23, 0xfffffe2, 28, 0xfffffe3, 28, 0xfffffe4, 28, 0xfffffe5, 28, 0xfffffe6, 28, 0xfffffe7, 28, // 0-7
  0xfffffe8, 28, 0xffffea, 24, 0x3ffffffc, 30, 0xfffffe9, 28, 0xfffffea, 28, 0x3ffffffd, 30, 0xfffffeb, 28, 0xfffffec, 28, // 8-15
  0xfffffed, 28, 0xfffffee, 28, 0xfffffef, 28, 0xffffff0, 28, 0xffffff1, 28, 0xffffff2, 28, 0x3ffffffe, 30, 0xffffff3, 28, // 16-23
  0xffffff4, 28, 0xffffff5, 28, 0xffffff6, 28, 0xffffff7, 28, 0xffffff8, 28, 0xffffff9, 28, 0xffffffa, 28, 0xffffffb, 28, // 24-31
  0x14, 6, 0x3f8, 10, 0x3f9, 10, 0xffa, 12, 0x1ff9, 13, 0x15, 6, 0xf8, 8, 0x7fa, 11, // 32-39
  0x3fa, 10, 0x3fb, 10, 0xf9, 8, 0x7fb, 11, 0xfa, 8, 0x16, 6, 0x17, 6, 0x18, 6, // 40-47
  0x0, 5, 0x1, 5, 0x2, 5, 0x19, 6, 0x1a, 6, 0x1b, 6, 0x1c, 6, 0x1d, 6, // 48-55
  0x1e, 6, 0x1f, 6, 0x5c, 7, 0xfb, 8, 0x7ffc, 15, 0x20, 6, 0xffb, 12, 0x3fc, 10, // 56-63
  0x1ffa, 13, 0x21, 6, 0x5d, 7, 0x5e, 7, 0x5f, 7, 0x60, 7, 0x61, 7, 0x62, 7, // 64-71
  0x63, 7, 0x64, 7, 0x65, 7, 0x66, 7, 0x67, 7, 0x68, 7, 0x69, 7, 0x6a, 7, // 72-79
  0x6b, 7, 0x6c, 7, 0x6d, 7, 0x6e, 7, 0x6f, 7, 0x70, 7, 0x71, 7, 0x72, 7, // 80-87
  0xfc, 8, 0x73, 7, 0xfd, 8, 0x1ffb, 13, 0x7fff0, 19, 0x1ffc, 13, 0x3ffc, 14, 0x22, 6, // 88-95
  0x7ffd, 15, 0x3, 5, 0x23, 6, 0x4, 5, 0x24, 6, 0x5, 5, 0x25, 6, 0x26, 6, // 96-103
  0x27, 6, 0x6, 5, 0x74, 7, 0x75, 7, 0x28, 6, 0x29, 6, 0x2a, 6, 0x7, 5, // 104-111
  0x2b, 6, 0x76, 7, 0x2c, 6, 0x8, 5, 0x9, 5, 0x2d, 6, 0x77, 7, 0x78, 7, // 112-119
  0x79, 7, 0x7a, 7, 0x7b, 7, 0x7ffe, 15, 0x7fc, 11, 0x3ffd, 14, 0x1ffd, 13, 0xffffffc, 28, // 120-127
  0xfffe6, 20, 0x3fffd2, 22, 0xfffe7, 20, 0xfffe8, 20, 0x3fffd3, 22, 0x3fffd4, 22, 0x3fffd5, 22, 0x7fffd9, 23, // 128-135
  0x3fffd6, 22, 0x7fffda, 23, 0x7fffdb, 23, 0x7fffdc, 23, 0x7fffdd, 23, 0x7fffde, 23, 0xffffeb, 24, 0x7fffdf, 23, // 136-143
  0xffffec, 24, 0xffffed, 24, 0x3fffd7, 22, 0x7fffe0, 23, 0xffffee, 24, 0x7fffe1, 23, 0x7fffe2, 23, 0x7fffe3, 23, // 144-151
  0x7fffe4, 23, 0x1fffdc, 21, 0x3fffd8, 22, 0x7fffe5, 23, 0x3fffd9, 22, 0x7fffe6, 23, 0x7fffe7, 23, 0xffffef, 24, // 152-159
  0x3fffda, 22, 0x1fffdd, 21, 0xfffe9, 20, 0x3fffdb, 22, 0x3fffdc, 22, 0x7fffe8, 23, 0x7fffe9, 23, 0x1fffde, 21, // 160-167
  0x7fffea, 23, 0x3fffdd, 22, 0x3fffde, 22, 0xfffff0, 24, 0x1fffdf, 21, 0x3fffdf, 22, 0x7fffeb, 23, 0x7fffec, 23, // 168-175
  0x1fffe0, 21, 0x1fffe1, 21, 0x3fffe0, 22, 0x1fffe2, 21, 0x7fffed, 23, 0x3fffe1, 22, 0x7fffee, 23, 0x7fffef, 23, // 176-183
  0xfffea, 20, 0x3fffe2, 22, 0x3fffe3, 22, 0x3fffe4, 22, 0x7ffff0, 23, 0x3fffe5, 22, 0x3fffe6, 22, 0x7ffff1, 23, // 184-191
  0x3ffffe0, 26, 0x3ffffe1, 26, 0xfffeb, 20, 0x7fff1, 19, 0x3fffe7, 22, 0x7ffff2, 23, 0x3fffe8, 22, 0x1ffffec, 25, // 192-199
  0x3ffffe2, 26, 0x3ffffe3, 26, 0x3ffffe4, 26, 0x7ffffde, 27, 0x7ffffdf, 27, 0x3ffffe5, 26, 0xfffff1, 24, 0x1ffffed, 25, // 200-207
  0x7fff2, 19, 0x1fffe3, 21, 0x3ffffe6, 26, 0x7ffffe0, 27, 0x7ffffe1, 27, 0x3ffffe7, 26, 0x7ffffe2, 27, 0xfffff2, 24, // 208-215
  0x1fffe4, 21, 0x1fffe5, 21, 0x3ffffe8, 26, 0x3ffffe9, 26, 0xffffffd, 28, 0x7ffffe3, 27, 0x7ffffe4, 27, 0x7ffffe5, 27, // 216-223
  0xfffec, 20, 0xfffff3, 24, 0xfffed, 20, 0x1fffe6, 21, 0x3fffe9, 22, 0x1fffe7, 21, 0x1fffe8, 21, 0x7ffff3, 23, // 224-231
  0x3fffea, 22, 0x3fffeb, 22, 0x1ffffee, 25, 0x1ffffef, 25, 0xfffff4, 24, 0xfffff5, 24, 0x3ffffea, 26, 0x7ffff4, 23, // 232-239
  0x3ffffeb, 26, 0x7ffffe6, 27, 0x3ffffec, 26, 0x3ffffed, 26, 0x7ffffe7, 27, 0x7ffffe8, 27, 0x7ffffe9, 27, 0x7ffffea, 27, // 240-247
  0x7ffffeb, 27, 0xffffffe, 28, 0x7ffffec, 27, 0x7ffffed, 27, 0x7ffffee, 27, 0x7ffffef, 27, 0x7fffff0, 27, 0x3ffffee, 26, // 248-255
  0x3fffffff, 30, // 256 (EOS)
];

export const EOS = 256;
/** The code of each symbol 0..256, aligned to the least significant bit (Appendix B "code as hex"). */
export const HUFFMAN_CODES = new Uint32Array(257);
/** The length in bits of each symbol's code (Appendix B "len"). */
export const HUFFMAN_LENGTHS = new Uint8Array(257);
for (let sym = 0; sym <= EOS; sym++) {
  HUFFMAN_CODES[sym] = TABLE[sym * 2]!;
  HUFFMAN_LENGTHS[sym] = TABLE[sym * 2 + 1]!;
}

// One transition per (state, nibble): next state in bits 0-7, the completed symbol in bits 8-15.
const EMITS = 1 << 16;
/** The nibble completes EOS, which a string must never contain (§5.2). */
const FAILS = 1 << 17;
const STATES = 256; // a complete code over 257 symbols has 256 internal nodes
const TRANSITIONS = new Uint32Array(STATES * 16);
/** 1 for states that may end a string: the bits since the last symbol are all 1s, at most 7 (§5.2). */
const ACCEPTS = new Uint8Array(STATES);

buildDecoder();

/** Builds the code tree, then walks every nibble from every node to fill TRANSITIONS. */
function buildDecoder(): void {
  // children[node * 2 + bit]: an internal node's index, or ~symbol for a leaf; 0 = not yet set.
  const children = new Int32Array(STATES * 2);
  const depth = new Uint8Array(STATES);
  const allOnes = new Uint8Array(STATES);
  allOnes[0] = 1;
  let nodes = 1;
  for (let sym = 0; sym <= EOS; sym++) {
    const code = HUFFMAN_CODES[sym]!;
    const len = HUFFMAN_LENGTHS[sym]!;
    let node = 0;
    for (let i = len - 1; i > 0; i--) {
      const bit = (code >>> i) & 1;
      let next = children[node * 2 + bit]!;
      if (next < 0) throw new Error("HPACK Huffman table is not a prefix code");
      if (next === 0) {
        next = nodes++;
        if (next >= STATES) throw new Error("HPACK Huffman table is not a prefix code");
        children[node * 2 + bit] = next;
        depth[next] = depth[node]! + 1;
        allOnes[next] = allOnes[node]! & bit;
      }
      node = next;
    }
    children[node * 2 + (code & 1)] = ~sym;
  }
  if (nodes !== STATES || children.includes(0)) throw new Error("HPACK Huffman table is not a complete code");
  for (let state = 0; state < STATES; state++) {
    ACCEPTS[state] = allOnes[state]! && depth[state]! <= 7 ? 1 : 0;
    for (let nibble = 0; nibble < 16; nibble++) TRANSITIONS[state * 16 + nibble] = step(children, state, nibble);
  }
}

/** Feeds four bits into the tree from `state`: where it ends, and the symbol it completed if any. */
function step(children: Int32Array, state: number, nibble: number): number {
  let node = state;
  let out = 0;
  for (let i = 3; i >= 0; i--) {
    const child = children[node * 2 + ((nibble >>> i) & 1)]!;
    if (child > 0) {
      node = child;
      continue;
    }
    const sym = ~child;
    if (sym === EOS) return FAILS;
    out = EMITS | (sym << 8);
    node = 0;
  }
  return out | node;
}

let scratch = Buffer.allocUnsafe(1024);

/**
 * Decodes the Huffman-coded string in bytes[from, to) to a byte string (one char per byte, 0-255).
 * Throws HpackError on EOS in the data, or padding that is longer than 7 bits or not all 1s (§5.2).
 */
export function huffmanDecode(bytes: Uint8Array, from: number, to: number): string {
  // The shortest code is 5 bits, so n bytes decode to at most 8n/5 symbols.
  const most = Math.ceil(((to - from) * 8) / 5);
  if (scratch.length < most) scratch = Buffer.allocUnsafe(Math.max(most, scratch.length * 2));
  const out = scratch;
  let n = 0;
  let state = 0;
  for (let i = from; i < to; i++) {
    const byte = bytes[i]!;
    let t = TRANSITIONS[(state << 4) | (byte >>> 4)]!;
    if (t & FAILS) throw new HpackError("Huffman string contains EOS");
    if (t & EMITS) out[n++] = (t >>> 8) & 0xff;
    state = t & 0xff;
    t = TRANSITIONS[(state << 4) | (byte & 15)]!;
    if (t & FAILS) throw new HpackError("Huffman string contains EOS");
    if (t & EMITS) out[n++] = (t >>> 8) & 0xff;
    state = t & 0xff;
  }
  if (!ACCEPTS[state]) throw new HpackError("Huffman padding longer than 7 bits or not all 1s");
  return out.toString("latin1", 0, n);
}
