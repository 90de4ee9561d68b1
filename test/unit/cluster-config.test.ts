import { describe, expect, test } from "bun:test";
import { effectiveConfigFile, maskedConfig } from "../../src/cli/commands/config.ts";
import { toToml } from "../../src/cli/toml-out.ts";
import { clusterWarnings } from "../../src/cluster/config-warnings.ts";
import { redactRedisUrl, redisPassword } from "../../src/cluster/redis-url.ts";
import { ConfigError, loadConfig } from "../../src/config/load.ts";
import { writeConfig } from "../support/config-file.ts";
import { ISSUE_CONFIG } from "../support/issue-config.ts";

const load = (toml: string, env: Record<string, string> = {}) => loadConfig({ file: writeConfig(toml), env: { HOME: "/home/u", ...env } });
const withCluster = (cluster: string) => `${ISSUE_CONFIG.replace('dialect = "zai"', 'dialect = "zai"\nshared = true')}\n[cluster]\n${cluster}\n`;
const errorOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error("expected a ConfigError");
};

describe("[cluster] and shared lanes", () => {
  test("without [cluster] nothing is shared: no Redis URL, lanes not shared, the defaults", () => {
    const c = load(ISSUE_CONFIG);
    expect(c.cluster).toEqual({ redis_url: undefined, lease_ms: 30_000, op_timeout_ms: 250 });
    expect(c.lanes.zai!.shared).toBe(false);
  });

  test("the file's redis_url, lease and deadline; a lane marked shared", () => {
    const c = load(withCluster('redis_url = "redis://redis.lan:6380/2"\nlease_ms = 5000\nop_timeout_ms = 100'));
    expect(c.cluster).toEqual({ redis_url: "redis://redis.lan:6380/2", lease_ms: 5000, op_timeout_ms: 100 });
    expect(c.lanes.zai!.shared).toBe(true);
    expect(c.lanes.anthropic!.shared).toBe(false);
  });

  test("CCP_REDIS_URL wins over the file's", () => {
    expect(load(withCluster('redis_url = "redis://a:1"'), { CCP_REDIS_URL: "rediss://b:2" }).cluster.redis_url).toBe("rediss://b:2");
    expect(load(ISSUE_CONFIG, { CCP_REDIS_URL: "redis://b:2" }).cluster.redis_url).toBe("redis://b:2");
  });

  test("a bad URL names the key and never quotes the URL (it may hold a password)", () => {
    const fromFile = errorOf(() => load(withCluster('redis_url = "http://u:hunter2hunter2@h:1"')));
    expect(fromFile).toContain("cluster.redis_url: must use redis://");
    expect(fromFile).not.toContain("hunter2");
    const fromEnv = errorOf(() => load(ISSUE_CONFIG, { CCP_REDIS_URL: "not a url hunter2hunter2" }));
    expect(fromEnv).toContain("CCP_REDIS_URL: must be a URL");
    expect(fromEnv).not.toContain("hunter2");
    expect(errorOf(() => load(withCluster("lease_ms = 10")))).toContain("cluster.lease_ms");
    expect(errorOf(() => load(withCluster("leas_ms = 1000")))).toContain("cluster.leas_ms: unknown key (did you mean lease_ms?)");
  });

  test("config show masks the password and round-trips the rest", () => {
    const c = load(withCluster('redis_url = "redis://ccp:s3cr%40t-pass@redis.lan:6379/0"'));
    expect(redisPassword(c.cluster.redis_url)).toBe("s3cr@t-pass");
    for (const text of [toToml(effectiveConfigFile(c)), JSON.stringify(maskedConfig(c))]) {
      expect(text).not.toContain("s3cr");
      expect(text).toContain("redis://ccp:********@redis.lan:6379/0");
    }
    const noPassword = load(withCluster('redis_url = "redis://redis.lan:6379"\nlease_ms = 4000'));
    const back = load(toToml(effectiveConfigFile(noPassword)));
    expect(back.cluster).toEqual(noPassword.cluster);
    expect(back.lanes.zai!.shared).toBe(true);
  });

  test("redactRedisUrl leaves a URL without a password alone", () => {
    expect(redactRedisUrl("redis://h:1/0")).toBe("redis://h:1/0");
    expect(redactRedisUrl("redis://:pw@h:1")).toBe("redis://:********@h:1");
    expect(redisPassword("redis://h:1")).toBeUndefined();
  });

  test("a shared lane without a Redis, or a Redis without a shared lane, is said (config check, start)", () => {
    expect(clusterWarnings(load(withCluster("lease_ms = 5000")))).toEqual(["lane zai: shared = true does nothing without [cluster] redis_url (or CCP_REDIS_URL); its limits are this instance's"]);
    expect(clusterWarnings(load(ISSUE_CONFIG, { CCP_REDIS_URL: "redis://r:1" }))).toEqual(["[cluster] redis_url is set but no lane has shared = true: nothing is shared"]);
    expect(clusterWarnings(load(withCluster('redis_url = "redis://r:1"')))).toEqual([]);
    expect(clusterWarnings(load(ISSUE_CONFIG))).toEqual([]);
  });
});
