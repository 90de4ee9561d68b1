/**
 * What an executable's header says it is, read as the loader reads it: ELF (the System V ABI's
 * header: e_ident, e_type, e_machine) and 64-bit Mach-O (<mach-o/loader.h>: mach_header_64), so a
 * test can check a cross-compiled file without running it.
 */
export interface ExeHeader {
  readonly format: "elf" | "macho" | "unknown";
  /** "x64" or "arm64" when the header names one of them, else the raw machine number. */
  readonly arch: string;
  /** An executable (ELF: ET_EXEC, or ET_DYN as a position-independent one is; Mach-O: MH_EXECUTE), not a library or object file. */
  readonly executable: boolean;
}

const ELF_MACHINES: Record<number, string> = { 62: "x64", 183: "arm64" };
/** CPU_TYPE_X86_64, CPU_TYPE_ARM64 (CPU_ARCH_ABI64 | the 32-bit type). */
const MACHO_CPUS = new Map([
  [0x01000007, "x64"],
  [0x0100000c, "arm64"],
]);

export function exeHeader(b: Buffer): ExeHeader {
  if (b.length >= 20 && b.readUInt32BE(0) === 0x7f454c46) {
    // ELFCLASS64, ELFDATA2LSB; e_type, e_machine.
    const type = b.readUInt16LE(16);
    const machine = b.readUInt16LE(18);
    return { format: "elf", arch: ELF_MACHINES[machine] ?? String(machine), executable: b[4] === 2 && b[5] === 1 && (type === 2 || type === 3) };
  }
  if (b.length >= 32 && b.readUInt32LE(0) === 0xfeedfacf) {
    const cpu = b.readUInt32LE(4);
    return { format: "macho", arch: MACHO_CPUS.get(cpu) ?? String(cpu), executable: b.readUInt32LE(12) === 2 };
  }
  return { format: "unknown", arch: "", executable: false };
}
