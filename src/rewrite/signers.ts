/**
 * Who signed the thinking blocks ccp passed on: a signature's hash → the lane (its base_url)
 * whose answer carried it. A conversation that moves between providers keeps each provider's
 * blocks away from the others (they would refuse a signature they did not make). Bounded: the
 * least recently seen are forgotten first; a signature ccp never saw is left alone.
 */
export class Signers {
  readonly #by = new Map<bigint | number, string>();

  constructor(readonly max = 50_000) {}

  record(signer: string, proofs: readonly string[]): void {
    for (const p of proofs) {
      const k = Bun.hash(p);
      this.#by.delete(k);
      this.#by.set(k, signer);
      if (this.#by.size > this.max) this.#by.delete(this.#by.keys().next().value!);
    }
  }

  signerOf(proof: string): string | undefined {
    return this.#by.get(Bun.hash(proof));
  }
}
