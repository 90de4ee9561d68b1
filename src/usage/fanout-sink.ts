import type { UsageRecord, UsageSink } from "./record.ts";

/** Hands every record to each sink; one failing sink never stops the others. */
export class FanoutSink implements UsageSink {
  constructor(readonly sinks: readonly UsageSink[]) {}

  write(record: UsageRecord): void {
    for (const sink of this.sinks) {
      try {
        sink.write(record);
      } catch {
        // A sink reports its own errors; the stream must not notice.
      }
    }
  }

  async flush(): Promise<void> {
    await Promise.allSettled(this.sinks.map((s) => s.flush()));
  }
}
