import { describe, expect, test } from "bun:test";
import { Cluster } from "../../src/cluster/cluster.ts";
import { loadConfig } from "../../src/config/load.ts";
import { QuotaDesk } from "../../src/quota/desk.ts";
import type { TransportFactory } from "../../src/resilience/lane-runtime.ts";
import { createLaneRuntimes } from "../../src/resilience/lanes.ts";
import type { Protocol, Transport } from "../../src/upstream/transport.ts";
import { newLiveState } from "../../src/usage/live.ts";
import { writeConfig } from "../support/config-file.ts";
import { FakeFleet } from "../support/fake-fleet.ts";

/** One instance of a fleet as the server builds it, on a fake fleet: what it publishes and what it takes from the others. */
const TOML = (shared: boolean) => `
[cluster]
redis_url = "redis://fleet.example:6379"
lease_ms = 3000

[lanes.zai]
base_url = "https://zai.example/api/anthropic"
auth = "key"
key_env = "ZAI_API_KEY"
transport = "auto"
dialect = "zai"
shared = ${shared}
h1_cooldown_ms = 60000

[lanes.anthropic]
base_url = "https://anthropic.example"
shared = ${shared}

[[routes]]
match = "*"
lane = "zai"
`;
const quiet = { info: () => {}, warn: () => {} };
const fakeTransports: TransportFactory = (_lane, protocol: Protocol) => ({ protocol, send: () => Promise.reject(new Error("unused")), close: () => {} }) as unknown as Transport;

function instance(fleet: FakeFleet, shared = true) {
  const config = loadConfig({ file: writeConfig(TOML(shared)), env: { HOME: "/home/u", ZAI_API_KEY: "zk-0123456789abcdef" } });
  const cluster = Cluster.of(config, quiet, { fleet });
  const lanes = createLaneRuntimes(config.lanes, newLiveState([]), fakeTransports, cluster && ((lane, local) => cluster.share(lane, local)));
  const desk = QuotaDesk.of(config, () => {});
  cluster?.attachQuota(desk);
  return { config, cluster, lanes, desk };
}

describe("an instance of a fleet", () => {
  test("no shared lane: no cluster, the local limiters", () => {
    const { cluster, lanes } = instance(new FakeFleet(), false);
    expect(cluster).toBeUndefined();
    expect(lanes.get("zai")!.limiter.constructor.name).toBe("AdaptiveLimiter");
  });

  test("a wall of the lane's own key goes to the fleet and into the other instances' books; a client credential's does not", async () => {
    const fleet = new FakeFleet();
    const a = instance(fleet);
    const b = instance(fleet);
    const resetsAt = Date.now() + 3_600_000;
    a.desk.hitWall(a.config.lanes.zai!, "lane", { window: "5h", resetsAt, code: "1308" });
    a.desk.hitWall(a.config.lanes.anthropic!, "client:abc", { window: "5h", resetsAt, code: "rejected" });
    await Bun.sleep(5);
    expect(fleet.walls).toEqual([{ window: "5h", resetsAt, code: "1308", until: resetsAt }]);
    expect(b.desk.book.walled("zai", "lane")).toBeUndefined();
    await b.cluster!.sync();
    expect(b.desk.book.walled("zai", "lane")).toMatchObject({ window: "5h", resetsAt, code: "1308" });
    expect(b.desk.steer({ lanes: ["zai"], threshold: 1 }, undefined)).toMatchObject({ kind: "walled" });
  });

  test("an HTTP/2 downgrade on one instance puts the fleet's lane on HTTP/1.1: the others' next attempt goes over h1", async () => {
    const fleet = new FakeFleet();
    const a = instance(fleet);
    const b = instance(fleet);
    const now = performance.now();
    expect(b.lanes.get("zai")!.transport(now).protocol).toBe("h2");
    a.lanes.get("zai")!.downgrade(now);
    await Bun.sleep(5);
    expect(fleet.h1Until).toBeGreaterThan(Date.now() + 50_000);
    (await b.lanes.get("zai")!.limiter.acquire())(); // an acquire hears the fleet's cool-down
    expect(b.lanes.get("zai")!.transport(performance.now()).protocol).toBe("h1");
    fleet.down(); // a fleet that does not answer keeps nobody on HTTP/1.1
    expect(b.lanes.get("zai")!.transport(performance.now()).protocol).toBe("h2");
  });

  test("status: the instances seen, slots by instance, the fleet's limit", async () => {
    const fleet = new FakeFleet();
    const a = instance(fleet);
    const b = instance(fleet);
    await a.cluster!.start("host-a:8082");
    await b.cluster!.start("host-b:8082");
    fleet.limit = 3;
    const held = await a.lanes.get("zai")!.limiter.acquire();
    await b.cluster!.refresh();
    const zai = b.cluster!.status().lanes.find((l) => l.name === "zai")!;
    expect(zai).toMatchObject({ instances: ["host-a:8082", "host-b:8082"], slots_in_use: 1, slots: { "host-a:8082": 1 }, limit: 3 });
    held();
    a.cluster!.close();
    b.cluster!.close();
  });
});
