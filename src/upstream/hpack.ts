/**
 * HPACK (RFC 7541) for ccp's HTTP/2 client: a stateless request encoder and a full decoder.
 * The encoder never adds to the peer's dynamic table (static indexes and literals without
 * indexing only), so it needs no state and ignores the peer's SETTINGS_HEADER_TABLE_SIZE.
 * The decoder keeps the dynamic table the peer's encoder drives. Malformed input throws
 * HpackError, which the session answers with a COMPRESSION_ERROR (RFC 9113 §4.3).
 * Names and values are byte strings: one char per octet (latin1), never UTF-8 decoded here.
 */
import { HpackError, huffmanDecode } from "./hpack-huffman.ts";

export { HpackError };

export type HeaderField = [name: string, value: string];

/** Appendix A; index 1 is the first entry. */
const STATIC_TABLE: ReadonlyArray<readonly [string, string]> = [
  [":authority", ""],
  [":method", "GET"],
  [":method", "POST"],
  [":path", "/"],
  [":path", "/index.html"],
  [":scheme", "http"],
  [":scheme", "https"],
  [":status", "200"],
  [":status", "204"],
  [":status", "206"],
  [":status", "304"],
  [":status", "400"],
  [":status", "404"],
  [":status", "500"],
  ["accept-charset", ""],
  ["accept-encoding", "gzip, deflate"],
  ["accept-language", ""],
  ["accept-ranges", ""],
  ["accept", ""],
  ["access-control-allow-origin", ""],
  ["age", ""],
  ["allow", ""],
  ["authorization", ""],
  ["cache-control", ""],
  ["content-disposition", ""],
  ["content-encoding", ""],
  ["content-language", ""],
  ["content-length", ""],
  ["content-location", ""],
  ["content-range", ""],
  ["content-type", ""],
  ["cookie", ""],
  ["date", ""],
  ["etag", ""],
  ["expect", ""],
  ["expires", ""],
  ["from", ""],
  ["host", ""],
  ["if-match", ""],
  ["if-modified-since", ""],
  ["if-none-match", ""],
  ["if-range", ""],
  ["if-unmodified-since", ""],
  ["last-modified", ""],
  ["link", ""],
  ["location", ""],
  ["max-forwards", ""],
  ["proxy-authenticate", ""],
  ["proxy-authorization", ""],
  ["range", ""],
  ["referer", ""],
  ["refresh", ""],
  ["retry-after", ""],
  ["server", ""],
  ["set-cookie", ""],
  ["strict-transport-security", ""],
  ["transfer-encoding", ""],
  ["user-agent", ""],
  ["vary", ""],
  ["via", ""],
  ["www-authenticate", ""],
];
const STATIC_LENGTH = STATIC_TABLE.length;

/** Each entry counts its name and value octets plus 32 (§4.1); header lists count the same (RFC 9113 §6.5.2). */
const ENTRY_OVERHEAD = 32;
/** §5.1 leaves the bound to the decoder: nothing legitimate (index, length, table size) comes near 2^31. */
const MAX_INTEGER = 0x7fffffff;
/** An integer below 2^31 takes its prefix octet and at most 5 more. */
const MAX_INTEGER_OCTETS = 6;
const DEFAULT_MAX_LIST_SIZE = 64 * 1024;

// The encoder's lookups: the static index of a (name, value) pair, and of a name's first entry.
const STATIC_PAIRS = new Map<string, Map<string, number>>();
const STATIC_NAMES = new Map<string, number>();
STATIC_TABLE.forEach(([name, value], i) => {
  let values = STATIC_PAIRS.get(name);
  if (!values) STATIC_PAIRS.set(name, (values = new Map()));
  values.set(value, i + 1);
  if (!STATIC_NAMES.has(name)) STATIC_NAMES.set(name, i + 1);
});

/**
 * Encodes a request's header list. Each field is the static entry when name and value match one
 * (§6.1), else a literal without indexing (§6.2.2) naming a static entry when the name has one.
 * Strings go raw (no Huffman): cheaper to produce, and requests are few and small.
 * Names must already be lowercase. Throws HpackError on a char above U+00FF.
 */
export function encodeHeaders(headers: ReadonlyArray<readonly [string, string]>): Uint8Array {
  let bound = 0;
  for (const [name, value] of headers) bound += name.length + value.length + 3 * MAX_INTEGER_OCTETS;
  const out = new Uint8Array(bound);
  let at = 0;
  for (const [name, value] of headers) at = encodeField(out, at, name, value);
  return out.subarray(0, at);
}

function encodeField(out: Uint8Array, at: number, name: string, value: string): number {
  const pair = STATIC_PAIRS.get(name)?.get(value);
  if (pair !== undefined) return encodeInteger(out, at, pair, 7, 0x80);
  const nameIndex = STATIC_NAMES.get(name);
  if (nameIndex !== undefined) {
    at = encodeInteger(out, at, nameIndex, 4, 0x00);
  } else {
    out[at++] = 0x00; // name index 0: the name follows as a literal
    at = encodeString(out, at, name);
  }
  return encodeString(out, at, value);
}

/** A string literal with H = 0 (§5.2): its length, then one octet per char. */
function encodeString(out: Uint8Array, at: number, text: string): number {
  at = encodeInteger(out, at, text.length, 7, 0x00);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0xff) throw new HpackError(`header text has a char above U+00FF at offset ${i}`);
    out[at++] = code;
  }
  return at;
}

/**
 * Writes `value` as an integer with a `prefixBits`-bit prefix at out[at] (§5.1); `flags` are the
 * representation's bits above the prefix. Returns the offset after it.
 */
export function encodeInteger(out: Uint8Array, at: number, value: number, prefixBits: number, flags = 0): number {
  const max = (1 << prefixBits) - 1;
  if (value < max) {
    out[at++] = flags | value;
    return at;
  }
  out[at++] = flags | max;
  let rest = value - max;
  while (rest >= 0x80) {
    out[at++] = (rest & 0x7f) | 0x80;
    rest >>>= 7;
  }
  out[at++] = rest;
  return at;
}

/** Reads an integer with a `prefixBits`-bit prefix at bytes[at] (§5.1): its value and the offset after it. */
export function decodeInteger(bytes: Uint8Array, at: number, prefixBits: number): { value: number; next: number } {
  const reader = new BlockReader(bytes);
  reader.pos = at;
  const value = reader.integer(prefixBits);
  return { value, next: reader.pos };
}

/** A cursor over one header block; every read checks the block's end. */
class BlockReader {
  pos = 0;
  readonly #bytes: Uint8Array;
  /** A Buffer view for latin1 decoding, made at the first raw string. */
  #buffer: Buffer | undefined;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  /** §5.1. Refuses values above 2^31 - 1 and more than 5 continuation octets (no overlong padding). */
  integer(prefixBits: number): number {
    const bytes = this.#bytes;
    if (this.pos >= bytes.length) throw new HpackError("integer runs past the header block");
    const max = (1 << prefixBits) - 1;
    let value = bytes[this.pos++]! & max;
    if (value < max) return value;
    for (let shift = 0; shift <= 28; shift += 7) {
      if (this.pos >= bytes.length) throw new HpackError("integer runs past the header block");
      const octet = bytes[this.pos++]!;
      value += (octet & 0x7f) * 2 ** shift;
      if (value > MAX_INTEGER) break;
      if ((octet & 0x80) === 0) return value;
    }
    throw new HpackError("integer above 2^31 - 1");
  }

  /** §5.2: a Huffman flag, a 7-bit-prefix length, then that many octets. */
  string(): string {
    if (this.pos >= this.#bytes.length) throw new HpackError("string literal runs past the header block");
    const huffman = (this.#bytes[this.pos]! & 0x80) !== 0;
    const length = this.integer(7);
    const from = this.pos;
    const to = from + length;
    if (to > this.#bytes.length) throw new HpackError("string literal runs past the header block");
    this.pos = to;
    if (huffman) return huffmanDecode(this.#bytes, from, to);
    // Buffer's latin1 is ISO-8859-1; TextDecoder("latin1") is windows-1252 and remaps 0x80-0x9f.
    this.#buffer ??= Buffer.from(this.#bytes.buffer, this.#bytes.byteOffset, this.#bytes.byteLength);
    return this.#buffer.toString("latin1", from, to);
  }
}

/**
 * The dynamic table (§2.3.2, §4): a ring of entries, newest first, evicted oldest first when an
 * addition or a smaller capacity needs room. Slots grow only when the capacity allows more entries.
 */
class DynamicTable {
  #names: string[] = [];
  #values: string[] = [];
  /** The slot of the newest entry. */
  #head = 0;
  #count = 0;
  /** Octets in use (§4.1). */
  size = 0;
  capacity = 0;

  constructor(capacity: number) {
    this.setCapacity(capacity);
  }

  get length(): number {
    return this.#count;
  }

  /** Entry i, 0 being the newest (dynamic index i + 62 in the address space of §2.3.3). */
  name(i: number): string {
    return this.#names[this.#slot(i)]!;
  }

  value(i: number): string {
    return this.#values[this.#slot(i)]!;
  }

  /** §4.4: evicts until the entry fits; an entry larger than the capacity leaves the table empty. */
  add(name: string, value: string): void {
    const entrySize = name.length + value.length + ENTRY_OVERHEAD;
    if (entrySize > this.capacity) {
      while (this.#count > 0) this.#evictOldest();
      return;
    }
    while (this.size + entrySize > this.capacity) this.#evictOldest();
    this.#head = (this.#head + 1) % this.#names.length;
    this.#names[this.#head] = name;
    this.#values[this.#head] = value;
    this.#count++;
    this.size += entrySize;
  }

  /** §4.3: a new capacity evicts until the table fits it. */
  setCapacity(capacity: number): void {
    this.capacity = capacity;
    while (this.size > capacity) this.#evictOldest();
    const slots = Math.floor(capacity / ENTRY_OVERHEAD);
    if (slots > this.#names.length) this.#grow(slots);
  }

  #slot(i: number): number {
    const slots = this.#names.length;
    return (this.#head - i + slots) % slots;
  }

  #evictOldest(): void {
    const slot = this.#slot(this.#count - 1);
    this.size -= this.#names[slot]!.length + this.#values[slot]!.length + ENTRY_OVERHEAD;
    this.#names[slot] = this.#values[slot] = "";
    this.#count--;
  }

  /** Re-lays the entries oldest to newest from slot 0 in a larger ring. */
  #grow(slots: number): void {
    const names = new Array<string>(slots).fill("");
    const values = new Array<string>(slots).fill("");
    for (let i = 0; i < this.#count; i++) {
      names[this.#count - 1 - i] = this.name(i);
      values[this.#count - 1 - i] = this.value(i);
    }
    this.#names = names;
    this.#values = values;
    this.#head = this.#count === 0 ? slots - 1 : this.#count - 1;
  }
}

/**
 * Decodes the header blocks of one connection, in order: they share the dynamic table.
 * `maxTableSize` is the SETTINGS_HEADER_TABLE_SIZE we announce; the table starts at that capacity.
 */
export class HpackDecoder {
  readonly #table: DynamicTable;
  #maxTableSize: number;
  /** The limit fell below the table's capacity: the next block must open with a size update (§4.2). */
  #updateDue = false;

  constructor(maxTableSize = 4096) {
    this.#maxTableSize = maxTableSize;
    this.#table = new DynamicTable(maxTableSize);
  }

  /** Octets the dynamic table holds (§4.1). */
  get tableSize(): number {
    return this.#table.size;
  }

  /** The capacity the peer's last size update set (or the initial maximum). */
  get tableCapacity(): number {
    return this.#table.capacity;
  }

  /** A new SETTINGS_HEADER_TABLE_SIZE, once the peer has acknowledged it. */
  setMaxTableSize(size: number): void {
    this.#maxTableSize = size;
    if (size < this.#table.capacity) this.#updateDue = true;
  }

  /**
   * One header block's fields in order. Throws HpackError on malformed input, or when the list
   * grows past `maxListSize` (name + value + 32 per field), so a small block cannot expand
   * without bound through repeated references to large table entries.
   */
  decode(block: Uint8Array, maxListSize = DEFAULT_MAX_LIST_SIZE): HeaderField[] {
    const reader = new BlockReader(block);
    const fields: HeaderField[] = [];
    let listSize = 0;
    while (reader.pos < block.length) {
      const first = block[reader.pos]!;
      if ((first & 0xe0) === 0x20) {
        this.#sizeUpdate(reader.integer(5), fields.length === 0);
        continue;
      }
      if (this.#updateDue) throw new HpackError("header block lacks the dynamic table size update the new limit requires");
      const field = first & 0x80 ? this.#indexed(reader.integer(7)) : this.#literal(reader, first);
      listSize += field[0].length + field[1].length + ENTRY_OVERHEAD;
      if (listSize > maxListSize) throw new HpackError(`header list larger than ${maxListSize} octets`);
      fields.push(field);
    }
    if (this.#updateDue) throw new HpackError("header block lacks the dynamic table size update the new limit requires");
    return fields;
  }

  /** §6.3, §4.2: only before the block's first field, and within our limit. */
  #sizeUpdate(size: number, atStart: boolean): void {
    if (!atStart) throw new HpackError("dynamic table size update after a header field");
    if (size > this.#maxTableSize) throw new HpackError(`dynamic table size update to ${size} above the limit ${this.#maxTableSize}`);
    this.#table.setCapacity(size);
    this.#updateDue = false;
  }

  /** §6.1. */
  #indexed(index: number): HeaderField {
    this.#checkIndex(index);
    if (index <= STATIC_LENGTH) {
      const entry = STATIC_TABLE[index - 1]!;
      return [entry[0], entry[1]];
    }
    return [this.#table.name(index - STATIC_LENGTH - 1), this.#table.value(index - STATIC_LENGTH - 1)];
  }

  /** §6.2.1 (01, 6-bit index, added to the table), §6.2.2 (0000) and §6.2.3 (0001), 4-bit index. */
  #literal(reader: BlockReader, first: number): HeaderField {
    const indexing = (first & 0xc0) === 0x40;
    const index = reader.integer(indexing ? 6 : 4);
    const name = index === 0 ? reader.string() : this.#name(index);
    const value = reader.string();
    if (indexing) this.#table.add(name, value);
    return [name, value];
  }

  #name(index: number): string {
    this.#checkIndex(index);
    return index <= STATIC_LENGTH ? STATIC_TABLE[index - 1]![0] : this.#table.name(index - STATIC_LENGTH - 1);
  }

  /** §2.3.3: index 0 and indexes past both tables are errors. */
  #checkIndex(index: number): void {
    if (index === 0 || index > STATIC_LENGTH + this.#table.length) throw new HpackError(`header table index ${index} out of range`);
  }
}
