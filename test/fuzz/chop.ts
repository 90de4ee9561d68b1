/** Splits bytes at random points (inside CRLF pairs and multi-byte characters too), pieces of 1..maxPiece bytes. */
export function chop(rnd: () => number, bytes: Uint8Array, maxPiece: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; ) {
    const n = Math.min(bytes.length - at, 1 + Math.floor(rnd() * maxPiece));
    out.push(bytes.subarray(at, at + n));
    at += n;
  }
  return out;
}

export const pick = <T>(rnd: () => number, xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
