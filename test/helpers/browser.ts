import { chromium, type Browser } from "playwright-core";

/** Debian's Chromium; .ci/run installs it when it is missing. */
export const CHROMIUM = "/usr/bin/chromium";

/** A headless Chromium that talks to nothing on its own (no updates, no sync, no first-run pages). */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
}
