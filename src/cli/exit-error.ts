/** Commands throw this; only the entry point exits the process (changesets' habit). */
export class ExitError extends Error {
  override readonly name = "ExitError";
  constructor(
    readonly code: number,
    message: string,
    /** What the user can do about it. */
    readonly hint?: string,
  ) {
    super(message);
  }
}
