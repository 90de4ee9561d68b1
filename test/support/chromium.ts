import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext } from "playwright-core";
import { ensureDebianPackage } from "./apt.ts";

export const CHROMIUM = "/usr/bin/chromium";

/** Why a real Chromium cannot be had (Debian's package, installed on demand), or undefined when it is there. */
export const chromiumUnavailable = (): string | undefined => ensureDebianPackage("chromium", () => existsSync(CHROMIUM));

/** Debian's Chromium, headless, driven by playwright-core (which never downloads a browser here). */
export function launchChromium(extraArgs: readonly string[] = []): Promise<BrowserContext> {
  const profile = mkdtempSync(join(tmpdir(), "ccp-chromium-"));
  return chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 1000 },
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", ...extraArgs],
  });
}
