/**
 * What waits in ccp's response body queues, watched from outside: BodyQueue's push and read are
 * wrapped (bytes pushed minus bytes read, per queue), so no counter lives in the request path.
 * For an in-process server only (the stall-memory measure and its test); restore() unwraps.
 */
import { BodyQueue } from "../../src/upstream/body-queue.ts";

export interface QueueLevel {
  /** bytes pushed and not yet read */
  now: number;
  /** the most `now` has been */
  max: number;
  /** ended or cancelled: its stream is over */
  ended: boolean;
}

export interface QueueWatch {
  /** The queues of streams still open, as they are now (copies). */
  open(): QueueLevel[];
  /** Forget every queue seen so far. */
  clear(): void;
  restore(): void;
}

export function watchBodyQueues(): QueueWatch {
  const levels = new Map<BodyQueue, QueueLevel>();
  const of = (q: BodyQueue) => levels.get(q) ?? levels.set(q, { now: 0, max: 0, ended: false }).get(q)!;
  const proto = BodyQueue.prototype;
  const { push, read, end, cancel } = proto;
  proto.push = function (this: BodyQueue, chunk: Uint8Array) {
    const l = of(this);
    if (!l.ended) {
      l.now += chunk.byteLength;
      l.max = Math.max(l.max, l.now);
    }
    return push.call(this, chunk);
  };
  proto.read = function (this: BodyQueue) {
    const r = read.call(this);
    void r.then(
      (x) => {
        if (!x.done) of(this).now -= x.value.byteLength;
      },
      () => {},
    );
    return r;
  };
  proto.end = function (this: BodyQueue) {
    of(this).ended = true;
    return end.call(this);
  };
  proto.cancel = function (this: BodyQueue) {
    of(this).ended = true;
    return cancel.call(this);
  };
  return {
    open: () => [...levels.values()].filter((l) => !l.ended).map((l) => ({ ...l })),
    clear: () => levels.clear(),
    restore: () => Object.assign(proto, { push, read, end, cancel }),
  };
}
