import { expect, test } from "bun:test";
import { EOS, HUFFMAN_CODES, HUFFMAN_LENGTHS, huffmanDecode } from "../../src/upstream/hpack-huffman.ts";
import { decodeInteger, encodeHeaders, encodeInteger, HpackDecoder, HpackError } from "../../src/upstream/hpack.ts";

/** Bytes from an RFC 7541 Appendix C hex dump ("8286 8441 ..."). */
function hex(dump: string): Uint8Array {
  return Uint8Array.from(Buffer.from(dump.replace(/\s+/g, ""), "hex"));
}

/** Parses "name: value" lines, splitting at the first ": " after the name's leading colon. */
function list(text: string): [string, string][] {
  return text
    .trim()
    .split("\n")
    .map((line) => {
      const at = line.indexOf(": ", 1);
      return [line.slice(0, at).trim(), line.slice(at + 2)];
    });
}

/** A Huffman encoder for tests only (the client never Huffman-codes): codes, then 1s to the octet. */
function huffman(text: string): Uint8Array {
  const bits: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const sym = text.charCodeAt(i);
    for (let b = HUFFMAN_LENGTHS[sym]! - 1; b >= 0; b--) bits.push((HUFFMAN_CODES[sym]! >>> b) & 1);
  }
  while (bits.length % 8) bits.push(1);
  const out = new Uint8Array(bits.length / 8);
  bits.forEach((bit, i) => {
    out[i >> 3]! |= bit << (7 - (i & 7));
  });
  return out;
}

function expectHpackError(run: () => unknown, message?: RegExp): void {
  let error: unknown;
  try {
    run();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(HpackError);
  expect((error as Error).name).toBe("HpackError");
  if (message) expect((error as Error).message).toMatch(message);
}

test("Huffman table: 257 codes forming a complete canonical prefix code (Kraft sum 1)", () => {
  expect(HUFFMAN_CODES.length).toBe(257);
  expect(HUFFMAN_LENGTHS.length).toBe(257);
  let kraft = 0;
  for (let sym = 0; sym <= EOS; sym++) {
    const len = HUFFMAN_LENGTHS[sym]!;
    expect(len).toBeGreaterThanOrEqual(5);
    expect(len).toBeLessThanOrEqual(30);
    expect(HUFFMAN_CODES[sym]! < 2 ** len).toBe(true);
    kraft += 2 ** -len;
  }
  expect(kraft).toBe(1);
  // Canonical: ordered by (length, symbol), each code is the previous plus one, shifted to its length.
  const order = [...Array(257).keys()].sort((a, b) => HUFFMAN_LENGTHS[a]! - HUFFMAN_LENGTHS[b]! || a - b);
  for (let i = 1; i < order.length; i++) {
    const [prev, sym] = [order[i - 1]!, order[i]!];
    expect(HUFFMAN_CODES[sym]).toBe((HUFFMAN_CODES[prev]! + 1) * 2 ** (HUFFMAN_LENGTHS[sym]! - HUFFMAN_LENGTHS[prev]!));
  }
  expect([HUFFMAN_CODES[EOS], HUFFMAN_LENGTHS[EOS]]).toEqual([0x3fffffff, 30]);
});

test("Huffman: every byte value round-trips, alone and mixed", () => {
  for (let b = 0; b < 256; b++) {
    const text = String.fromCharCode(b);
    const coded = huffman(text);
    expect(huffmanDecode(coded, 0, coded.length)).toBe(text);
  }
  let all = "";
  for (let i = 0; i < 3 * 256; i++) all += String.fromCharCode((i * 97 + 13) & 0xff);
  const coded = huffman(all);
  expect(huffmanDecode(coded, 0, coded.length)).toBe(all);
  expect(huffmanDecode(new Uint8Array(0), 0, 0)).toBe("");
});

test("Huffman: Appendix C strings, and decoding a slice in the middle of a buffer", () => {
  expect(huffmanDecode(hex("f1e3 c2e5 f23a 6ba0 ab90 f4ff"), 0, 12)).toBe("www.example.com");
  expect(huffmanDecode(hex("a8eb 1064 9cbf"), 0, 6)).toBe("no-cache");
  const c63 = hex("94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07");
  expect(huffmanDecode(c63, 0, c63.length)).toBe("foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1");
  const padded = hex("00 25a8 49e9 5ba9 7d7f 00");
  expect(huffmanDecode(padded, 1, 9)).toBe("custom-key");
});

test("Huffman errors: EOS in the data, padding of 8+ bits, padding with a 0 bit", () => {
  expectHpackError(() => huffmanDecode(hex("ffff ffff"), 0, 4), /EOS/); // 30 ones = EOS
  expectHpackError(() => huffmanDecode(hex("1fff"), 0, 2), /padding/); // 'a' then 11 ones
  expectHpackError(() => huffmanDecode(hex("18"), 0, 1), /padding/); // 'a' then 000
  expectHpackError(() => huffmanDecode(hex("ff"), 0, 1), /padding/); // 8 ones, no symbol
  expect(huffmanDecode(hex("1f"), 0, 1)).toBe("a"); // 'a' then 111
});

test("C.1: integer representation", () => {
  const out = new Uint8Array(8);
  expect(encodeInteger(out, 0, 10, 5, 0xe0)).toBe(1);
  expect(out[0]).toBe(0xea);
  expect(decodeInteger(out, 0, 5)).toEqual({ value: 10, next: 1 });
  expect(encodeInteger(out, 0, 1337, 5)).toBe(3);
  expect([...out.subarray(0, 3)]).toEqual([0x1f, 0x9a, 0x0a]);
  expect(decodeInteger(out, 0, 5)).toEqual({ value: 1337, next: 3 });
  expect(encodeInteger(out, 2, 42, 8)).toBe(3);
  expect(out[2]).toBe(42);
  expect(decodeInteger(out, 2, 8)).toEqual({ value: 42, next: 3 });
  for (const value of [0, 30, 31, 127, 128, 255, 16383, 2 ** 31 - 1]) {
    const at = encodeInteger(out, 0, value, 5);
    expect(decodeInteger(out, 0, 5)).toEqual({ value, next: at });
  }
});

test("C.2.1-C.2.4: literal representations and an indexed field", () => {
  const d = new HpackDecoder();
  expect(d.decode(hex("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572"))).toEqual([["custom-key", "custom-header"]]);
  expect(d.tableSize).toBe(55);

  const d2 = new HpackDecoder();
  expect(d2.decode(hex("040c 2f73 616d 706c 652f 7061 7468"))).toEqual([[":path", "/sample/path"]]);
  expect(d2.tableSize).toBe(0);

  const d3 = new HpackDecoder();
  expect(d3.decode(hex("1008 7061 7373 776f 7264 0673 6563 7265 74"))).toEqual([["password", "secret"]]);
  expect(d3.tableSize).toBe(0);

  const d4 = new HpackDecoder();
  expect(d4.decode(hex("82"))).toEqual([[":method", "GET"]]);
  expect(d4.tableSize).toBe(0);
});

const REQUEST_LISTS = [
  list(":method: GET\n:scheme: http\n:path: /\n:authority: www.example.com"),
  list(":method: GET\n:scheme: http\n:path: /\n:authority: www.example.com\ncache-control: no-cache"),
  list(":method: GET\n:scheme: https\n:path: /index.html\n:authority: www.example.com\ncustom-key: custom-value"),
];
const REQUEST_TABLE_SIZES = [57, 110, 164];

function decodeSequence(decoder: HpackDecoder, blocks: string[]): { lists: [string, string][][]; sizes: number[] } {
  const lists: [string, string][][] = [];
  const sizes: number[] = [];
  for (const block of blocks) {
    lists.push(decoder.decode(hex(block)));
    sizes.push(decoder.tableSize);
  }
  return { lists, sizes };
}

test("C.3: three requests without Huffman share one dynamic table", () => {
  const r = decodeSequence(new HpackDecoder(), [
    "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
    "8286 84be 5808 6e6f 2d63 6163 6865",
    "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
  ]);
  expect(r.lists).toEqual(REQUEST_LISTS);
  expect(r.sizes).toEqual(REQUEST_TABLE_SIZES);
});

test("C.4: the same requests with Huffman", () => {
  const r = decodeSequence(new HpackDecoder(), ["8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff", "8286 84be 5886 a8eb 1064 9cbf", "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf"]);
  expect(r.lists).toEqual(REQUEST_LISTS);
  expect(r.sizes).toEqual(REQUEST_TABLE_SIZES);
});

const RESPONSE_LISTS = [
  list(":status: 302\ncache-control: private\ndate: Mon, 21 Oct 2013 20:13:21 GMT\nlocation: https://www.example.com"),
  list(":status: 307\ncache-control: private\ndate: Mon, 21 Oct 2013 20:13:21 GMT\nlocation: https://www.example.com"),
  list(
    ":status: 200\ncache-control: private\ndate: Mon, 21 Oct 2013 20:13:22 GMT\nlocation: https://www.example.com\n" +
      "content-encoding: gzip\nset-cookie: foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1",
  ),
];
const RESPONSE_TABLE_SIZES = [222, 222, 215];

test("C.5: three responses without Huffman, 256-octet table, with evictions", () => {
  const r = decodeSequence(new HpackDecoder(256), [
    "4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
    "4803 3330 37c1 c0bf",
    "88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b " +
      "425a 584f 5157 454f 5049 5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31",
  ]);
  expect(r.lists).toEqual(RESPONSE_LISTS);
  expect(r.sizes).toEqual(RESPONSE_TABLE_SIZES);
});

const C6_BLOCKS = [
  "4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3",
  "4883 640e ffc1 c0bf",
  "88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 " +
    "72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07",
];

test("C.6: the same responses with Huffman", () => {
  const r = decodeSequence(new HpackDecoder(256), C6_BLOCKS);
  expect(r.lists).toEqual(RESPONSE_LISTS);
  expect(r.sizes).toEqual(RESPONSE_TABLE_SIZES);
  // After C.6.3 the table is [set-cookie, content-encoding, date]: 62..64, and 65 is past it.
  const d = new HpackDecoder(256);
  decodeSequence(d, C6_BLOCKS);
  expect(d.decode(hex("bebf c0"))).toEqual([
    ["set-cookie", "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"],
    ["content-encoding", "gzip"],
    ["date", "Mon, 21 Oct 2013 20:13:22 GMT"],
  ]);
  expectHpackError(() => d.decode(hex("c1")), /index 65/);
});

const REQUEST: [string, string][] = [
  [":method", "POST"],
  [":scheme", "https"],
  [":path", "/v1/messages?beta=true"],
  [":authority", "api.example.com"],
  ["content-type", "application/json"],
  ["x-api-key", "sk-ant-api03-0123456789abcdefghijklmnopqrstuvwxyz"],
  ["anthropic-version", "2023-06-01"],
  ["content-length", "1234"],
  ["x-empty", ""],
  ["x-large", "v".repeat(5000)],
  ["accept", ""],
  ["x-latin1", "caf\u00e9 \u0080\u009f\u00ff"],
];

test("encodeHeaders round-trips through the decoder, leaving its dynamic table empty", () => {
  const block = encodeHeaders(REQUEST);
  const d = new HpackDecoder();
  expect(d.decode(block)).toEqual(REQUEST);
  expect(d.tableSize).toBe(0);
  expect(d.decode(encodeHeaders([]))).toEqual([]);
});

test("encodeHeaders: static pairs are indexed, static names literal without indexing, others new-name literals", () => {
  expect([
    ...encodeHeaders([
      [":method", "POST"],
      [":scheme", "https"],
      ["accept", ""],
    ]),
  ]).toEqual([0x83, 0x87, 0x80 | 19]);
  // content-type is static 31: 4-bit prefix 15, then 16.
  expect([...encodeHeaders([["content-type", "a"]])]).toEqual([0x0f, 0x10, 0x01, 0x61]);
  expect([...encodeHeaders([[":path", "/x"]])]).toEqual([0x04, 0x02, 0x2f, 0x78]);
  expect([...encodeHeaders([["x-a", "b"]])]).toEqual([0x00, 0x03, 0x78, 0x2d, 0x61, 0x01, 0x62]);
  // A 5000-octet value, raw (H = 0): length 5000 = 127 + 9 + 38 * 128 on a 7-bit prefix.
  const big = encodeHeaders([["x-b", "v".repeat(5000)]]);
  expect([...big.subarray(5, 8)]).toEqual([0x7f, 0x80 | 9, 38]);
  expect(big.length).toBe(8 + 5000);
});

test("encodeHeaders refuses chars above U+00FF rather than mangling them", () => {
  expectHpackError(() => encodeHeaders([["x-a", "caf\u00e9 \u20ac"]]), /U\+00FF/);
  expectHpackError(() => encodeHeaders([["x-\u0100", "v"]]), /U\+00FF/);
});

test("decoder errors: index 0, indexes past the tables", () => {
  expectHpackError(() => new HpackDecoder().decode(hex("80")), /index 0/);
  expectHpackError(() => new HpackDecoder().decode(hex("be")), /index 62/);
  expectHpackError(() => new HpackDecoder().decode(hex("7e 0161")), /index 62/); // literal, name index 62
  expectHpackError(() => new HpackDecoder().decode(hex("0f 2f 0161")), /index 62/); // 4-bit prefix 15 + 47
});

test("decoder errors: truncated integer, overflowing integer, truncated string", () => {
  expectHpackError(() => new HpackDecoder().decode(hex("ff")), /integer runs past/);
  expectHpackError(() => new HpackDecoder().decode(hex("ff 80")), /integer runs past/);
  expectHpackError(() => new HpackDecoder().decode(hex("ff ffff ffff 0f")), /2\^31/);
  expectHpackError(() => new HpackDecoder().decode(hex("ff 8080 8080 8000")), /2\^31/); // six continuation octets
  expectHpackError(() => new HpackDecoder().decode(hex("040c 2f")), /string literal runs past/);
  expectHpackError(() => new HpackDecoder().decode(hex("04")), /string literal runs past/);
  expectHpackError(() => new HpackDecoder().decode(hex("00 0378 2d61")), /string literal runs past/); // no value
});

test("decoder errors: Huffman with EOS, padding of 8+ bits, padding not all 1s", () => {
  expectHpackError(() => new HpackDecoder().decode(hex("04 84 ffff ffff")), /EOS/);
  expectHpackError(() => new HpackDecoder().decode(hex("04 82 1fff")), /padding/);
  expectHpackError(() => new HpackDecoder().decode(hex("04 81 18")), /padding/);
});

test("dynamic table size updates: at the start only, within the limit, required after the limit falls", () => {
  expectHpackError(() => new HpackDecoder(256).decode(hex("3fe2 01")), /above the limit 256/); // 257
  expectHpackError(() => new HpackDecoder().decode(hex("82 20")), /after a header field/);

  const d = new HpackDecoder(256);
  expect(d.decode(hex("3fe1 01 82"))).toEqual([[":method", "GET"]]); // 256, then a field
  d.decode(hex("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572"));
  expect(d.tableSize).toBe(55);
  expect(d.decode(hex("20 3f21"))).toEqual([]); // two updates: 0 empties the table, then 64
  expect([d.tableSize, d.tableCapacity]).toEqual([0, 64]);

  d.setMaxTableSize(32);
  expectHpackError(() => d.decode(hex("82")), /size update/);
  expectHpackError(() => d.decode(new Uint8Array(0)), /size update/);
  expect(d.decode(hex("3f01 82"))).toEqual([[":method", "GET"]]); // 32
  expect(d.tableCapacity).toBe(32);
  d.setMaxTableSize(4096);
  expect(d.decode(hex("82"))).toEqual([[":method", "GET"]]); // a higher limit needs no update
});

test("dynamic table: an entry larger than the capacity empties it; growing the capacity keeps entries in order", () => {
  const d = new HpackDecoder(100);
  d.decode(hex("8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d")); // :authority www.example.com, 57
  expect(d.tableSize).toBe(57);
  const longValue = "x".repeat(60); // 10 + 60 + 32 > 100
  const block = Uint8Array.from([0x58, longValue.length, ...Buffer.from(longValue)]);
  expect(d.decode(block)).toEqual([["cache-control", longValue]]);
  expect(d.tableSize).toBe(0);
  expectHpackError(() => d.decode(hex("be")), /index 62/);

  const g = new HpackDecoder(64);
  g.decode(hex("41 0161 58 0162")); // :authority a (43): the second entry (46) evicts it
  expect(g.tableSize).toBe(46);
  g.setMaxTableSize(4096);
  g.decode(hex("3fe1 1f 41 0163 41 0164")); // capacity 4096 (31 + 0x61 + 31 * 128), two more entries
  expect(g.decode(hex("be bf c0"))).toEqual([
    [":authority", "d"],
    [":authority", "c"],
    ["cache-control", "b"],
  ]);
  expect(g.tableSize).toBe(43 + 43 + 46);
});

test("the header list limit stops a small block that references a large entry many times", () => {
  const d = new HpackDecoder();
  const value = "y".repeat(1000);
  const add = new Uint8Array([0x40, 0x01, 0x79, ...encodeLength(1000), ...Buffer.from(value)]);
  d.decode(add);
  expect(d.tableSize).toBe(1 + 1000 + 32);
  expect(d.decode(new Uint8Array(63).fill(0xbe)).length).toBe(63); // 63 * 1033 < 64 KiB
  expectHpackError(() => d.decode(new Uint8Array(64).fill(0xbe)), /larger than 65536/);
  expectHpackError(() => new HpackDecoder().decode(encodeHeaders(REQUEST), 1000), /larger than 1000/);
  expect(new HpackDecoder().decode(encodeHeaders(REQUEST), 7000)).toEqual(REQUEST);
});

function encodeLength(n: number): number[] {
  const out = new Uint8Array(6);
  return [...out.subarray(0, encodeInteger(out, 0, n, 7))];
}

test("dynamic table ring: random additions and size updates match a plain array model", () => {
  let seed = 7;
  const random = (n: number) => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n;
  const d = new HpackDecoder(300);
  const model: [string, string][] = [];
  let capacity = 300;
  const modelSize = () => model.reduce((sum, [n, v]) => sum + n.length + v.length + 32, 0);
  const out = new Uint8Array(600);
  for (let round = 0; round < 2000; round++) {
    let at = 0;
    if (random(10) === 0) {
      capacity = random(301);
      at = encodeInteger(out, at, capacity, 5, 0x20);
      while (modelSize() > capacity) model.pop();
    }
    const name = `n${random(50)}`;
    const value = "v".repeat(random(random(20) === 0 ? 300 : 60));
    at = encodeInteger(out, at, 0, 6, 0x40);
    at = encodeInteger(out, at, name.length, 7);
    out.set(Buffer.from(name), at);
    at = encodeInteger(out, at + name.length, value.length, 7);
    out.set(Buffer.from(value), at);
    at += value.length;
    expect(d.decode(out.subarray(0, at))).toEqual([[name, value]]);
    model.unshift([name, value]);
    while (modelSize() > capacity) model.pop();
    expect(d.tableSize).toBe(modelSize());
    const refs = model.map((_, i) => 0x80 | (62 + i));
    expect(d.decode(Uint8Array.from(refs))).toEqual(model);
    expectHpackError(() => d.decode(Uint8Array.from([0x80 | (62 + model.length)])), /out of range/);
  }
});
