import { abortFailure } from "./failure.ts";

interface Waiter {
  readonly bytes: number;
  readonly grant: () => void;
}

/**
 * How many request-body bytes may be uploading at once, first come first served. A body
 * waits while others hold the budget; one larger than the whole budget goes alone. Each
 * grant is a release function (idempotent) to call once the body has been handed over.
 */
export class UploadBudget {
  #inUse = 0;
  readonly #queue: Waiter[] = [];

  constructor(readonly limitBytes: number) {}

  /** Bytes granted and not yet released. */
  get inUse(): number {
    return this.#inUse;
  }

  acquire(bytes: number, signal: AbortSignal): Promise<() => void> {
    if (signal.aborted) return Promise.reject(abortFailure(signal, "the attempt was aborted"));
    if (this.#queue.length === 0 && this.#fits(bytes)) return Promise.resolve(this.#take(bytes));
    return new Promise<() => void>((resolve, reject) => {
      const waiter: Waiter = {
        bytes,
        grant: () => {
          signal.removeEventListener("abort", onAbort);
          resolve(this.#take(bytes));
        },
      };
      const onAbort = () => {
        const i = this.#queue.indexOf(waiter);
        if (i !== -1) this.#queue.splice(i, 1);
        reject(abortFailure(signal, "the attempt was aborted"));
        this.#admit(); // the head may have been the one blocking the others
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.#queue.push(waiter);
    });
  }

  #fits(bytes: number): boolean {
    return this.#inUse === 0 || this.#inUse + bytes <= this.limitBytes;
  }

  #take(bytes: number): () => void {
    this.#inUse += bytes;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#inUse -= bytes;
      this.#admit();
    };
  }

  #admit(): void {
    while (this.#queue.length > 0 && this.#fits(this.#queue[0]!.bytes)) this.#queue.shift()!.grant();
  }
}
