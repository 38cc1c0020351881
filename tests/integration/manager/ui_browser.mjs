// The web UI in a real browser (Debian's chromium, headless, driven by playwright-core): loads /ui/
// over HTTPS presenting a trusted client certificate, finds the instance, starts it, opens its
// console, runs `echo hi-from-ui` there and waits for the output on the page; a screenshot is
// left as the test's artefact. Exits non-zero with what went wrong.
// usage: node ui_browser.mjs NODE_MODULES URL CERT KEY INSTANCE SCREENSHOT
import { createRequire } from "node:module";
import { resolve } from "node:path";

const [modules, url, cert, key, instance, screenshot] = process.argv.slice(2);
const { chromium } = createRequire(`${resolve(modules)}/`)("playwright-core");

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-dev-shm-usage"],
});
let failed = false;
try {
  const context = await browser.newContext({
    // The server's certificate is self-signed; the client pins it elsewhere (vessel remote add).
    ignoreHTTPSErrors: true,
    clientCertificates: [{ origin: new URL(url).origin, certPath: cert, keyPath: key }],
  });
  const page = await context.newPage();
  page.on("console", (message) => console.log(`page: ${message.text()}`));
  await page.goto(`${url}/ui/`);
  const row = page.locator(`#instances tr[data-name="${instance}"]`);
  await row.waitFor({ timeout: 15000 });
  console.log(`listed: ${(await row.innerText()).replace(/\s+/g, " ")}`);
  await row.locator('button[data-action="start"]').click();
  await row.locator("td.running").waitFor({ timeout: 30000 });
  console.log("started from the page");
  await row.locator('button[data-action="console"]').click();
  await page.locator("#terminal .xterm").waitFor({ timeout: 15000 });
  // The shell's prompt first, then the command, typed as a user would.
  await page.waitForFunction(() => window.vesselTerminal !== undefined);
  await page.waitForTimeout(500);
  await page.keyboard.type("echo hi-from-$((6*7))-ui\n");
  await page.waitForFunction(() => {
    const buffer = window.vesselTerminal.buffer.active;
    for (let line = 0; line < buffer.length; ++line)
      if (buffer.getLine(line)?.translateToString(true).trim() === "hi-from-42-ui") return true;
    return false;
  }, null, { timeout: 20000 });
  console.log("the console showed hi-from-42-ui");
  await page.screenshot({ path: screenshot, fullPage: true });
} catch (error) {
  failed = true;
  console.error(`FAIL: ${error.message}`);
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
