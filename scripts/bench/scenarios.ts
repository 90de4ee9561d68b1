/** What `bun run bench` measures: the scenario matrix of the full run and of `--quick`. */
import type { StreamShape } from "./workload.ts";

export type Proto = "h1" | "h2";

export interface Scenario {
  readonly name: string;
  /** the upstream leg's protocol (the client → ccp leg is always HTTP/1.1, as Claude Code's) */
  readonly proto: Proto;
  readonly concurrency: number;
  readonly bodyBytes: number;
  readonly persist: boolean;
  /** requests per arm per round */
  readonly requests: number;
  /** rounds of direct and through, interleaved (direct, through, through, direct, ...) */
  readonly rounds: number;
  readonly shape: StreamShape;
}

export interface Plan {
  readonly scenarios: readonly Scenario[];
  readonly soak: { readonly warmup: number; readonly requests: number; readonly batch: number; readonly concurrency: number; readonly shape: StreamShape };
  readonly slow: { readonly clients: number; readonly shape: StreamShape; readonly readChunk: number; readonly pauseMs: number };
  readonly disconnect: { readonly clients: number; readonly shape: StreamShape; readonly afterDeltas: number };
  /** Clients that stop reading an endless stream: the upstream must be held back (ccp's memory then cannot grow). */
  readonly stall: { readonly clients: number; readonly shape: StreamShape; readonly stallMs: number };
  /** `ccp statusline` runs, each a new process as Claude Code starts it. */
  readonly statusline: { readonly runs: number };
}

/** A fast stream: 20 text deltas 1 ms apart (~20 ms), so the proxy's own cost is not hidden by waiting. */
export const FAST: StreamShape = { deltas: 20, intervalMs: 1, deltaChars: 12 };
export const KB4 = 4 * 1024;
export const MB1 = 1024 * 1024;
/** A stream longer than any stall lets through (400 MB, written as fast as it is taken). */
const ENDLESS: StreamShape = { deltas: 1_000_000, intervalMs: 0, deltaChars: 400 };

const scenario = (proto: Proto, concurrency: number, bodyBytes: number, persist: boolean, requests: number, rounds: number): Scenario => ({
  name: `c${concurrency} ${bodyBytes >= MB1 ? "1MB" : "4KB"} ${proto} ${persist ? "persist" : "no-persist"}`,
  proto,
  concurrency,
  bodyBytes,
  persist,
  requests,
  rounds,
  shape: FAST,
});

export function fullPlan(): Plan {
  const scenarios: Scenario[] = [];
  for (const persist of [true, false]) {
    for (const proto of ["h1", "h2"] as const) {
      scenarios.push(scenario(proto, 1, KB4, persist, 150, 4));
      scenarios.push(scenario(proto, 50, KB4, persist, 2000, 3));
      scenarios.push(scenario(proto, 200, KB4, persist, 1500, 2));
      scenarios.push(scenario(proto, 1, MB1, persist, 60, 4));
      if (persist) scenarios.push(scenario(proto, 50, MB1, persist, 300, 2));
    }
  }
  return {
    scenarios,
    soak: { warmup: 2000, requests: 20_000, batch: 1000, concurrency: 50, shape: { deltas: 10, intervalMs: 1, deltaChars: 12 } },
    slow: { clients: 50, shape: { deltas: 4000, intervalMs: 0, deltaChars: 400 }, readChunk: 16 * 1024, pauseMs: 10 },
    disconnect: { clients: 100, shape: { deltas: 300, intervalMs: 10, deltaChars: 12 }, afterDeltas: 3 },
    stall: { clients: 20, shape: ENDLESS, stallMs: 5000 },
    statusline: { runs: 60 },
  };
}

/** Under a minute: the targets' scenarios once each, a short soak, and the robustness checks. */
export function quickPlan(): Plan {
  return {
    scenarios: [
      scenario("h1", 1, KB4, true, 60, 2),
      scenario("h2", 1, KB4, true, 60, 2),
      scenario("h2", 50, KB4, true, 1000, 2),
      scenario("h1", 200, KB4, true, 800, 2),
      scenario("h2", 1, MB1, true, 30, 2),
    ],
    soak: { warmup: 500, requests: 2500, batch: 500, concurrency: 50, shape: { deltas: 10, intervalMs: 1, deltaChars: 12 } },
    slow: { clients: 20, shape: { deltas: 2000, intervalMs: 0, deltaChars: 400 }, readChunk: 16 * 1024, pauseMs: 10 },
    disconnect: { clients: 30, shape: { deltas: 300, intervalMs: 10, deltaChars: 12 }, afterDeltas: 3 },
    stall: { clients: 10, shape: ENDLESS, stallMs: 3000 },
    statusline: { runs: 20 },
  };
}
