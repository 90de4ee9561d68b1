/**
 * The code signature of a 64-bit Mach-O executable: checked as the kernel checks it (each page's
 * hash in the CodeDirectory) and, where Bun left an invalid one, written again ad hoc, as Apple's
 * linker signs what it links. macOS on Apple silicon kills an executable without a valid
 * signature, and one whose signature does not match its bytes on either architecture.
 *
 * Why: `bun build --compile --target=bun-darwin-x64` (Bun 1.4.x) keeps the runtime's own signature,
 * whose CodeDirectory covers the runtime's bytes, not the bundle put into it (oven-sh/bun#39837);
 * its darwin-arm64 output is signed ad hoc correctly. Layouts: <mach-o/loader.h> (little-endian
 * header and load commands), <kern/cs_blobs.h> (big-endian SuperBlob and CodeDirectory).
 */
import { createHash } from "node:crypto";

const MH_MAGIC_64 = 0xfeedfacf;
const LC_SEGMENT_64 = 0x19;
const LC_CODE_SIGNATURE = 0x1d;
const CSMAGIC_EMBEDDED_SIGNATURE = 0xfade0cc0;
const CSMAGIC_CODEDIRECTORY = 0xfade0c02;
const PAGE_BITS = 12;
const PAGE = 1 << PAGE_BITS;
const HASH_SIZE = 32;
/** CodeDirectory version 0x20400 (with the executable segment fields): its header's size. */
const CD_HEADER = 88;
const CS_ADHOC = 0x2;
const CS_LINKER_SIGNED = 0x20000;
const CS_EXECSEG_MAIN_BINARY = 0x1;

interface Layout {
  /** Offset of LC_CODE_SIGNATURE's linkedit_data_command, and the signature's place in the file. */
  readonly sigCmd: number;
  readonly sigOff: number;
  readonly sigSize: number;
  readonly linkeditCmd: number;
  readonly text: { readonly fileoff: bigint; readonly filesize: bigint };
}

function layout(b: Buffer): Layout | string {
  if (b.length < 32 || b.readUInt32LE(0) !== MH_MAGIC_64) return "not a 64-bit Mach-O file";
  let off = 32;
  let sigCmd = -1;
  let linkeditCmd = -1;
  let text: Layout["text"] | undefined;
  for (let i = 0; i < b.readUInt32LE(16); i++) {
    const cmd = b.readUInt32LE(off);
    if (cmd === LC_CODE_SIGNATURE) sigCmd = off;
    if (cmd === LC_SEGMENT_64) {
      const name = b
        .subarray(off + 8, off + 24)
        .toString("latin1")
        .replace(/\0+$/, "");
      if (name === "__LINKEDIT") linkeditCmd = off;
      if (name === "__TEXT") text = { fileoff: b.readBigUInt64LE(off + 40), filesize: b.readBigUInt64LE(off + 48) };
    }
    off += b.readUInt32LE(off + 4);
  }
  if (sigCmd < 0) return "no LC_CODE_SIGNATURE load command";
  if (linkeditCmd < 0 || !text) return "no __LINKEDIT or __TEXT segment";
  return { sigCmd, sigOff: b.readUInt32LE(sigCmd + 8), sigSize: b.readUInt32LE(sigCmd + 12), linkeditCmd, text };
}

/** Why the file's signature does not hold (the first reason found), or undefined when every page matches its hash. */
export function machoSignatureProblem(b: Buffer): string | undefined {
  const l = layout(b);
  if (typeof l === "string") return l;
  if (l.sigOff + l.sigSize > b.length) return "the signature runs past the end of the file";
  if (b.readUInt32BE(l.sigOff) !== CSMAGIC_EMBEDDED_SIGNATURE) return "the signature is not an embedded signature SuperBlob";
  for (let i = 0; i < b.readUInt32BE(l.sigOff + 8); i++) {
    const cd = l.sigOff + b.readUInt32BE(l.sigOff + 16 + i * 8);
    if (b.readUInt32BE(cd) === CSMAGIC_CODEDIRECTORY) return codeDirectoryProblem(b, cd, l.sigOff);
  }
  return "the signature has no CodeDirectory";
}

/** The identifier the file's CodeDirectory names (ld's ad hoc signatures say a.out), if it has one. */
export function signatureIdentifier(b: Buffer): string | undefined {
  const l = layout(b);
  if (typeof l === "string" || b.readUInt32BE(l.sigOff) !== CSMAGIC_EMBEDDED_SIGNATURE) return undefined;
  const cd = l.sigOff + b.readUInt32BE(l.sigOff + 16);
  if (b.readUInt32BE(cd) !== CSMAGIC_CODEDIRECTORY) return undefined;
  const start = cd + b.readUInt32BE(cd + 20);
  return b.subarray(start, b.indexOf(0, start)).toString("latin1");
}

function codeDirectoryProblem(b: Buffer, cd: number, sigOff: number): string | undefined {
  const hashOffset = b.readUInt32BE(cd + 16);
  const nCodeSlots = b.readUInt32BE(cd + 28);
  const codeLimit = b.readUInt32BE(cd + 32);
  const hashSize = b[cd + 36]!;
  const algorithm = { 1: "sha1", 2: "sha256" }[b[cd + 37]!];
  const pageSize = 2 ** b[cd + 39]!;
  if (!algorithm) return `unknown hash type ${b[cd + 37]}`;
  if (codeLimit !== sigOff) return `the signature covers ${codeLimit} bytes, but the code runs to ${sigOff}`;
  if (nCodeSlots !== Math.ceil(codeLimit / pageSize)) return `${nCodeSlots} page hashes for ${codeLimit} bytes`;
  for (let i = 0; i < nCodeSlots; i++) {
    const page = b.subarray(i * pageSize, Math.min((i + 1) * pageSize, codeLimit));
    const want = b.subarray(cd + hashOffset + i * hashSize, cd + hashOffset + (i + 1) * hashSize);
    if (!createHash(algorithm).update(page).digest().subarray(0, hashSize).equals(want)) return `page ${i} does not match its hash`;
  }
  return undefined;
}

/**
 * The file signed ad hoc: its old signature replaced by a SuperBlob holding one CodeDirectory
 * (sha256 of every 4 KiB page up to the signature, flags adhoc + linker-signed, as ld writes),
 * the load commands that place it (LC_CODE_SIGNATURE's size, __LINKEDIT's sizes) updated first,
 * since they lie in the first page it hashes. Whatever followed the old signature is dropped.
 */
export function signAdHoc(input: Buffer, identifier: string): Buffer {
  const l = layout(input);
  if (typeof l === "string") throw new Error(`cannot sign: ${l}`);
  const codeLimit = l.sigOff;
  const slots = Math.ceil(codeLimit / PAGE);
  const ident = Buffer.from(`${identifier}\0`, "latin1");
  const cdLength = CD_HEADER + ident.length + slots * HASH_SIZE;
  const sigSize = 20 + cdLength;
  const out = Buffer.alloc(codeLimit + sigSize);
  input.copy(out, 0, 0, codeLimit);
  out.writeUInt32LE(sigSize, l.sigCmd + 12);
  const linkeditOff = out.readBigUInt64LE(l.linkeditCmd + 40);
  const linkeditSize = BigInt(codeLimit + sigSize) - linkeditOff;
  out.writeBigUInt64LE(linkeditSize, l.linkeditCmd + 48);
  // vmsize stays a whole number of 16 KiB pages (arm64's page; a multiple of x86-64's) at least filesize.
  const vm = out.readBigUInt64LE(l.linkeditCmd + 32);
  if (vm < linkeditSize) out.writeBigUInt64LE(((linkeditSize + 0x3fffn) / 0x4000n) * 0x4000n, l.linkeditCmd + 32);

  let at = codeLimit;
  const u32 = (v: number) => {
    out.writeUInt32BE(v, at);
    at += 4;
  };
  const u64 = (v: bigint) => {
    out.writeBigUInt64BE(v, at);
    at += 8;
  };
  [CSMAGIC_EMBEDDED_SIGNATURE, sigSize, 1, 0, 20].forEach(u32);
  [CSMAGIC_CODEDIRECTORY, cdLength, 0x20400, CS_ADHOC | CS_LINKER_SIGNED, CD_HEADER + ident.length, CD_HEADER, 0, slots, codeLimit].forEach(u32);
  // hashSize, hashType (sha256), platform, log2(pageSize); spare2, scatterOffset, teamOffset, spare3.
  out.set([HASH_SIZE, 2, 0, PAGE_BITS], at);
  at += 4;
  [0, 0, 0, 0].forEach(u32);
  [0n, l.text.fileoff, l.text.filesize, BigInt(CS_EXECSEG_MAIN_BINARY)].forEach(u64);
  ident.copy(out, at);
  at += ident.length;
  for (let i = 0; i < slots; i++) {
    createHash("sha256")
      .update(out.subarray(i * PAGE, Math.min((i + 1) * PAGE, codeLimit)))
      .digest()
      .copy(out, at);
    at += HASH_SIZE;
  }
  return out;
}
