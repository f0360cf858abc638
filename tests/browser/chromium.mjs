// chromium.mjs - Debian's chromium through playwright-core, for the page tests.
//
// The machine cannot download Playwright's own browsers, so /usr/bin/chromium
// is used; playwright-core comes from $RAPPORT_NODE_MODULES (installed into
// the build tree by the http_browser_npm_install fixture).
import { createRequire } from "node:module";
import fs from "node:fs";
import path from "node:path";

const require = createRequire(path.join(process.env.RAPPORT_NODE_MODULES || "node_modules", "x.js"));
const { chromium } = require("playwright-core");

// A headless chromium with a fresh profile in `profile`, speaking `locale`
// (its Accept-Language and navigator.languages; English unless a test asks
// for another, whatever the machine's own locale).
export async function launch(profile, locale = "en-GB") {
  fs.rmSync(profile, { recursive: true, force: true });
  fs.mkdirSync(profile, { recursive: true });
  return chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    viewport: { width: 1366, height: 860 },
    locale,
    timeout: 60000,
  });
}
