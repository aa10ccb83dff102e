// Drives the running demo in headless Chromium and takes a screenshot of
// each page: the streams connect, the chat bot answers word by word, posts
// and notifications arrive, the dashboard charts draw, the quotes stream ends
// with `done`. Fails on console errors, failed static requests or any request
// that leaves 127.0.0.1.
//
// Needs Debian's chromium and playwright-core from npm (no browser download):
//   apt-get install chromium
//   PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --prefix /tmp/pw playwright-core
//   NODE_PATH=/tmp/pw/node_modules node services/demo/browser_check.cjs \
//       http://127.0.0.1:8080 /tmp/shots
"use strict";
const { chromium } = require("playwright-core");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

const base = (process.argv[2] || "http://127.0.0.1:8080").replace(/\/$/, "");
const outDir = process.argv[3] || "/tmp/ssebridge-shots";
const T = 15000;

async function main() {
  fs.mkdirSync(outDir, { recursive: true });
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "ssebridge-pw-"));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium",
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const problems = [];
  const host = new URL(base).hostname;
  ctx.on("request", (r) => {
    if (new URL(r.url()).hostname !== host) problems.push("request outside: " + r.url());
  });
  ctx.on("requestfailed", (r) => {
    // Streams are aborted on purpose when a page is left or a stream replaced.
    if (!/\/api\//.test(r.url())) problems.push("failed: " + r.url());
  });
  ctx.on("response", (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()} ${r.url()}`); });
  const page = ctx.pages()[0] || (await ctx.newPage());
  page.on("console", (m) => { if (m.type() === "error") problems.push("console: " + m.text()); });
  page.on("pageerror", (e) => problems.push("page error: " + e.message));
  const shot = async (name) => {
    const file = path.join(outDir, name + ".png");
    await page.screenshot({ path: file });
    console.log("screenshot " + file);
  };
  const live = () => page.waitForSelector('#conn[data-state="live"]', { timeout: T });

  try {
    await page.goto(base + "/");
    await page.waitForSelector(".quote-of-moment figure.quote", { timeout: T });
    await page.waitForSelector("#readyz.ok", { timeout: T });
    await shot("index");

    await page.goto(base + "/chat.html");
    await live();
    const ask = 'form[hx-post="/api/chat"] input[name=message]';
    await page.fill(ask, "hello <b>there</b>");
    await page.press(ask, "Enter");
    await page.waitForSelector("#conversation .msg.user", { timeout: T });
    // The user's text arrives escaped: no <b> element inside the bubble.
    if (await page.$("#conversation .msg.user b")) problems.push("chat: user text not escaped");
    await page.waitForFunction(() => {
      const bot = document.querySelectorAll("#conversation .msg.bot");
      return bot.length >= 2 && /\.\s*$/.test(bot[bot.length - 1].textContent) &&
             !/thinking/.test(bot[bot.length - 1].textContent);
    }, null, { timeout: T });
    const post = 'form[hx-post="/api/chat_post"] input[name=message]';
    await page.fill(post, "hi room");
    await page.press(post, "Enter");
    await page.waitForSelector("#post-result .sent", { timeout: T });
    await page.waitForFunction(() => /hi room/.test(document.getElementById("room-feed").textContent),
                               null, { timeout: T });
    await page.waitForTimeout(500);
    await shot("chat");

    // Sign in (the demo's development login) as "demo", the notifier's user.
    await page.goto(base + "/notifications.html");
    await page.waitForSelector('body[data-auth]', { timeout: T });
    await page.fill("#who", "demo");
    await Promise.all([page.waitForNavigation(), page.click('#switch-user button[type="submit"]')]);
    await live();
    const text = 'form[hx-post="/api/notify"] input[name=text]';
    await page.fill(text, "Coffee is ready");
    await page.press(text, "Enter");
    await page.waitForSelector("#notify-result .sent", { timeout: T });
    await page.waitForFunction(() => /Coffee is ready/.test(document.getElementById("notif-list").textContent),
                               null, { timeout: T });
    // The demo notifier writes to user "demo" every 3 s.
    await page.waitForFunction(() => document.querySelectorAll("#notif-list li.notification").length >= 2,
                               null, { timeout: T });
    const badge = await page.textContent("nav [data-unread]");
    if (!(Number(badge) >= 2)) problems.push("notifications: unread badge shows " + badge);
    await shot("notifications");

    await page.goto(base + "/dashboard.html");
    await live();
    await page.waitForSelector(".panel.cpu .value", { timeout: T });
    await page.waitForFunction(() => document.querySelectorAll("svg.chart polyline").length >= 4,
                               null, { timeout: T });
    await page.waitForTimeout(4000);
    await shot("dashboard");

    await page.goto(base + "/quotes.html");
    await page.waitForSelector('#conn[data-state="done"]', { timeout: 30000 });
    const n = await page.$$eval("#quotes-stream figure.quote", (l) => l.length);
    if (n !== 8) problems.push("quotes: got " + n + " of 8");
    await shot("quotes");
  } catch (e) {
    problems.push("step failed: " + e.message.split("\n")[0]);
    await shot("failure").catch(() => {});
  }
  await ctx.close();
  fs.rmSync(profile, { recursive: true, force: true });
  if (problems.length) {
    console.error("browser check FAILED:\n  " + problems.join("\n  "));
    process.exit(1);
  }
  console.log("browser check passed");
}

main().catch((e) => { console.error(e); process.exit(1); });
