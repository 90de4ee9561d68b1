import chalk, { Chalk } from "chalk";

/** The only place colour is decided: a TTY, and never with NO_COLOR set (no-color.org). */
const useColour = Boolean(process.stderr.isTTY) && !process.env.NO_COLOR;
const c = useColour ? chalk : new Chalk({ level: 0 });

export const paint = {
  error: (s: string) => c.red(`ccp: ${s}`),
  hint: (s: string) => c.dim(`hint: ${s}`),
  ok: (s: string) => c.green(s),
  bold: (s: string) => c.bold(s),
  dim: (s: string) => c.dim(s),
};
