/**
 * Nearest-rank percentile of ascending values (no interpolation: the answer is always a
 * value that was observed). null for no values.
 */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export const ascending = (values: Iterable<number>): number[] => [...values].sort((a, b) => a - b);
