/** Memory and CPU of a process, from /proc (Linux). */
import { readFileSync } from "node:fs";

/** Clock ticks per second for /proc/<pid>/stat times (USER_HZ; 100 on every Linux this runs on). */
const CLK_TCK = 100;

export interface Memory {
  /** resident set size now, MB */
  readonly rssMb: number;
  /** peak resident set size of the process's life (VmHWM), MB */
  readonly hwmMb: number;
}

export function memory(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0);
  return { rssMb: kb("VmRSS") / 1024, hwmMb: kb("VmHWM") / 1024 };
}

/** User + system CPU seconds the process has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the parenthesised command name (which may contain spaces): utime is field 14, stime 15.
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(rest[11]) + Number(rest[12])) / CLK_TCK;
}

/** Samples a process's RSS every `everyMs` while running; `stop()` returns the peak seen (MB). */
export function rssSampler(pid: number, everyMs = 20): { stop(): number } {
  let peak = memory(pid).rssMb;
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, memory(pid).rssMb);
    } catch {
      /* the process is gone: the caller finds out */
    }
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      try {
        peak = Math.max(peak, memory(pid).rssMb);
      } catch {
        /* gone */
      }
      return peak;
    },
  };
}
