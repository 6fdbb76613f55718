// Debian's Chromium driven by playwright-core (Playwright's own browser
// download cannot work here). Installs the package when it is missing.
// Playwright gives each launch a fresh temporary profile (--user-data-dir).
import { execSync } from "node:child_process";
import { existsSync } from "node:fs";
import { chromium, type Browser } from "playwright-core";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

function ensureChromium(): void {
  if (existsSync(CHROMIUM)) return;
  execSync("apt-get update -qq && apt-get install -y -qq chromium", { stdio: "inherit", timeout: 600_000 });
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM} after installing it`);
}

export async function launchChromium(): Promise<Browser> {
  ensureChromium();
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}
