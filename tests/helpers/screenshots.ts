// Where browser tests write screenshots: test-output/ (git-ignored), so a test
// run never changes a tracked file. `npm run docs:images` runs the two tests
// whose screenshots README shows with TALLY_SCREENSHOT_DIR=docs.
import { mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export function screenshotPath(name: string): string {
  const dir = path.resolve(ROOT, process.env.TALLY_SCREENSHOT_DIR ?? "test-output");
  mkdirSync(dir, { recursive: true });
  return path.join(dir, name);
}
