import type { Logger } from "../server/context.ts";

/**
 * The foreground server's log: timestamped lines on stdout, written once per turn of the event
 * loop (one write for all the lines a busy moment produced, never one blocking write per request).
 */
export function stdoutLog(write: (text: string) => void = (t) => void process.stdout.write(t)): Logger & { flush(): void } {
  let pending = "";
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (pending === "") return;
    const text = pending;
    pending = "";
    write(text);
  };
  process.once("exit", flush);
  const line = (level: string) => (m: string) => {
    pending += `${new Date().toISOString()} ${level} ${m}\n`;
    if (scheduled) return;
    scheduled = true;
    setImmediate(flush);
  };
  return { info: line("info"), warn: line("warn"), error: line("error"), flush };
}
