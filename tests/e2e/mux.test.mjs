// Why the mux route matters (issue 22): over HTTP/1.1 a browser opens at
// most 6 connections per host, for all its tabs together, and every
// EventSource holds one. The demo's overview page (index.html) shows three
// live streams — notifications, the lobby chat, the dashboard's CPU — as
// sub-streams of one mux connection (/api/live). Straight to the frontend
// (no edge, no HTTP/2), five tabs of it all stay live; the same section
// built with three `sse-connect`s (one EventSource per route) stalls from
// the third tab on, and one more stream gets through for each one a closed
// tab gives back.
//
// The pages: the demo's "Live, on one connection" section exactly as built
// into index.html (so the test follows the demo), once as it is (mux) and
// once rewritten in the page to one `sse-connect` per sub-stream with the
// same route and parameters (plain). A tab's own document would queue
// behind the 6 held streams too (measured: the third tab's navigation never
// commits), leaving nothing to look at; so every tab loads its page first,
// with the section in a <template>, and the test then brings the section in
// tab by tab (as htmx does with swapped-in content), the same way in both
// cases. "Load" below is that moment.
//
// The streams are live on their own: the notifications service posts to
// user "demo" (whom the browser is signed in as) every 250 ms, the test
// says something in the lobby every 200 ms, the dashboard samples every
// second (the page's dash.interval_ms=1000).
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { launch } from "./lib/browser.mjs";
import { installProbe } from "./lib/page_probe.mjs";
import { Stack, buildDir, devLogin, makeTempDir, removeTempDir, sleep, waitFor } from "./lib/stack.mjs";

const TABS = 5;
const BUDGET_MS = 2000;  // every target of a tab has had an event this soon after load
const CHAT_EVERY_MS = 200;
// The section's swap targets, one per sub-stream (inbox.error is not one:
// it only says the inbox was refused).
const TARGETS = ["live-inbox", "live-lobby", "live-cpu"];
const ROUTES = ["/api/notifications", "/api/chat_stream", "/api/dashboard"];
const PAGES = { mux: "e2e-live-mux.html", plain: "e2e-live-plain.html" };

let stack;
let siteDir;
let chatter;
let token;

// The demo's live section, as built into index.html.
function liveSection() {
  const html = fs.readFileSync(path.join(buildDir(), "web/index.html"), "utf8");
  const m = html.match(/<section[^>]*\bid="live"[^>]*>[\s\S]*?<\/section>/);
  if (!m) throw new Error('web/index.html has no <section id="live">');
  assert.match(m[0], /sse-connect="\/api\/live\?/, "the live section is one mux connection");
  return m[0];
}

// Runs in the plain page on the section's fragment before htmx sees it: the
// mux container's `s=ALIAS:/route` and `ALIAS.NAME=VALUE` become one
// `sse-connect` per alias (on the element holding that alias's swap
// targets) and `ALIAS.EVENT` swaps become `EVENT`. A plain stream's failure
// is the `error` event, which an EventSource also fires for its own
// connection errors, so `ALIAS.error` swaps are dropped rather than renamed.
function toPlain(root) {
  const hub = root.querySelector("[sse-connect]");
  const url = new URL(hub.getAttribute("sse-connect"), location.href);
  const subs = new Map();
  for (const s of url.searchParams.getAll("s")) {
    const colon = s.indexOf(":");
    subs.set(s.slice(0, colon), new URL(s.slice(colon + 1), location.href));
  }
  for (const [key, value] of url.searchParams) {
    const dot = key.indexOf(".");
    if (dot > 0 && subs.has(key.slice(0, dot))) subs.get(key.slice(0, dot)).searchParams.append(key.slice(dot + 1), value);
  }
  hub.removeAttribute("sse-connect");
  hub.removeAttribute("hx-ext");
  for (const [alias, sub] of subs) {
    const elts = [...hub.querySelectorAll("[sse-swap]")].filter((e) => e.getAttribute("sse-swap").startsWith(alias + "."));
    let holder = elts[0];
    while (!elts.every((e) => holder.contains(e))) holder = holder.parentElement;
    for (const e of elts) {
      const event = e.getAttribute("sse-swap").slice(alias.length + 1);
      if (event === "error") e.removeAttribute("sse-swap"); else e.setAttribute("sse-swap", event);
    }
    holder.setAttribute("hx-ext", "sse");
    holder.setAttribute("sse-connect", sub.pathname + sub.search);
  }
}

function livePage(mode) {
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>e2e: the live section, ${mode}</title>
  <script src="/vendor/htmx.min.js" defer></script>
  <script src="/vendor/sse.js" defer></script>
</head>
<body>
<template id="live-template">
${liveSection()}
</template>
<div id="live-slot"></div>
<script>
${mode === "plain" ? toPlain.toString() : ""}
// When each swap target got its first event, in ms after startLive.
window.__firstAt = {};
window.startLive = function () {
  const frag = document.getElementById("live-template").content.cloneNode(true);
  ${mode === "plain" ? "toPlain(frag);" : ""}
  const slot = document.getElementById("live-slot");
  window.__liveAt = performance.now();
  slot.appendChild(frag);
  htmx.process(slot);
  return [...slot.querySelectorAll("[sse-connect]")].map((e) => e.getAttribute("sse-connect"));
};
document.addEventListener("htmx:sseMessage", (e) => {
  const id = e.target.id;
  if (id && !(id in window.__firstAt)) window.__firstAt[id] = Math.round(performance.now() - window.__liveAt);
}, true);
</script>
</body>
</html>
`;
}

// Says something in the lobby every CHAT_EVERY_MS until stop() (from this
// process, not the browser: its connections are the point of the test).
function startChatter(base) {
  let stopped = false;
  const errors = [];
  const loop = (async () => {
    for (let i = 1; !stopped; i++) {
      try {
        const r = await fetch(base + "/api/chat_post", {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({ room: "lobby", user: "e2e", message: `tick ${i}` }),
          signal: AbortSignal.timeout(5000),
        });
        await r.text();
        if (r.status !== 200) errors.push(`status ${r.status}`);
      } catch (e) {
        errors.push(e.message);
      }
      await sleep(CHAT_EVERY_MS);
    }
  })();
  return { errors, stop: async () => { stopped = true; await loop; } };
}

// A browser signed in as "demo" with TABS tabs of `mode`'s page loaded
// (nothing live yet).
async function openTabs(t, mode) {
  const browser = await launch();
  t.after(() => browser.cleanup());
  await installProbe(browser);
  await browser.addCookies([{ name: "ssebridge_token", value: token, url: stack.base, httpOnly: true, sameSite: "Lax" }]);
  const tabs = [];
  for (let i = 0; i < TABS; i++) {
    const tab = await browser.newPage();
    await tab.goto(`${stack.base}/${PAGES[mode]}`);
    tabs.push(tab);
  }
  return { browser, tabs };
}

// What a tab has received: EventSources opened, events per target, when
// each target's first came, whether its content changed from the page's.
function tabState(tab) {
  return tab.evaluate((targets) => {
    const recs = window.__sse;
    const tpl = document.getElementById("live-template").content;
    return {
      opens: recs.filter((r) => r.kind === "open").length,
      events: Object.fromEntries(targets.map((id) => [id, recs.filter((r) => r.kind === "message" && r.elt === id).length])),
      firstAt: Object.fromEntries(targets.map((id) => [id, window.__firstAt[id] ?? null])),
      changed: Object.fromEntries(targets.map((id) => {
        const now = document.getElementById(id);
        return [id, !!now && now.innerHTML !== tpl.getElementById(id).innerHTML];
      })),
      refused: recs.filter((r) => r.kind === "message" && r.elt === "live-inbox-error").map((r) => r.data),
    };
  }, TARGETS);
}

const allTargets = (s, pred) => TARGETS.every((id) => pred(s.events[id], id));
const describeState = (s) => TARGETS.map((id) => `${id.slice(5)} ${s.events[id]}ev/${s.firstAt[id] ?? "-"}ms`).join(", ") +
  `, ${s.opens} open`;

// Brings the live section into `tab`; waits (bounded) until each target has
// had an event. Returns the tab's state then.
async function goLive(tab, waitMs) {
  const urls = await tab.evaluate(() => window.startLive());
  let state;
  await waitFor(async () => allTargets(state = await tabState(tab), (n) => n > 0), { timeoutMs: waitMs, intervalMs: 25 })
    .catch(() => {});
  return { urls, state };
}

async function openStreams() {
  let n = 0;
  for (const route of ROUTES) n += await stack.metricSum("ssebridge_open_streams", { route });
  return n;
}

async function closeAll(tabs) {
  for (const tab of tabs) await tab.close().catch(() => {});
  await waitFor(async () => (await openStreams()) === 0,
                { timeoutMs: 10000, what: "the tabs' streams to close at the frontend" });
}

describe("mux route over HTTP/1.1", () => {
  before(async () => {
    siteDir = makeTempDir("ssebridge-e2e-site-");
    fs.cpSync(path.join(buildDir(), "web"), siteDir, { recursive: true });
    for (const [mode, file] of Object.entries(PAGES)) fs.writeFileSync(path.join(siteDir, file), livePage(mode));
    stack = await new Stack({
      services: ["chat_bot", "notifications", "monitoring"],
      serviceArgs: { notifications: ["--demo_interval=250ms"] },
      staticRoot: siteDir,
    }).start();
    token = await devLogin(stack.base, "demo");
    chatter = startChatter(stack.base);
  });
  after(async () => {
    if (chatter) await chatter.stop();
    if (stack) await stack.stop();
    if (siteDir) removeTempDir(siteDir);
  });

  test(`7a. ${TABS} tabs of the mux page: every sub-stream of every tab live within ${BUDGET_MS} ms`, async (t) => {
    const { browser, tabs } = await openTabs(t, "mux");
    const states = [];
    for (const [i, tab] of tabs.entries()) {
      // Waits past the budget so that a late tab is reported with its times.
      const { urls, state } = await goLive(tab, BUDGET_MS + 1500);
      assert.equal(urls.length, 1, `tab ${i + 1}: one EventSource (${urls})`);
      t.diagnostic(`tab ${i + 1}: ${describeState(state)}`);
      states.push(state);
    }
    for (const [i, s] of states.entries()) {
      assert.equal(s.opens, 1, `tab ${i + 1} opened one EventSource`);
      assert.deepEqual(s.refused, [], `tab ${i + 1}: the inbox was not refused (signed in)`);
      for (const id of TARGETS) {
        assert.ok(s.firstAt[id] !== null && s.firstAt[id] <= BUDGET_MS,
                  `tab ${i + 1}: ${id} had an event within ${BUDGET_MS} ms of load (${describeState(s)})`);
      }
    }
    // All five at once, not one after another: every target of every tab
    // gets more events and shows them.
    const before = await Promise.all(tabs.map(tabState));
    const t0 = Date.now();
    await waitFor(async () => (await Promise.all(tabs.map(tabState))).every((s, i) =>
      allTargets(s, (n, id) => n > before[i].events[id] && s.changed[id])),
    { timeoutMs: BUDGET_MS + 1000, intervalMs: 50, what: "every target of every tab to get another event" });
    t.diagnostic(`all ${TABS} tabs updated every target again within ${Date.now() - t0} ms`);
    // Each sub-stream is a stream of its route at the frontend.
    for (const route of ROUTES) {
      assert.equal(await stack.metricSum("ssebridge_open_streams", { route }), TABS, `${TABS} open streams of ${route}`);
    }
    assert.deepEqual(browser.problems, []);
    await closeAll(tabs);
  });

  test(`7b. the same with three sse-connects: tabs 3-${TABS} stall (6 connections per host)`, async (t) => {
    const { browser, tabs } = await openTabs(t, "plain");
    // Tabs 1 and 2 take 3 connections each and are live like the mux page.
    for (const [i, tab] of tabs.slice(0, 2).entries()) {
      const { urls, state } = await goLive(tab, BUDGET_MS + 1500);
      assert.equal(urls.length, 3, `tab ${i + 1}: three EventSources (${urls})`);
      t.diagnostic(`tab ${i + 1}: ${describeState(state)}`);
      for (const id of TARGETS) {
        assert.ok(state.firstAt[id] !== null && state.firstAt[id] <= BUDGET_MS,
                  `tab ${i + 1}: ${id} had an event within ${BUDGET_MS} ms (${describeState(state)})`);
      }
    }
    const early = await Promise.all(tabs.slice(0, 2).map(tabState));
    const t0 = Date.now();
    for (const tab of tabs.slice(2)) await tab.evaluate(() => window.startLive());
    // The same budget the mux tabs had, and until tabs 1-2 have shown that
    // they are still live meanwhile (every target got more events).
    await waitFor(async () => Date.now() - t0 >= BUDGET_MS &&
      (await Promise.all(tabs.slice(0, 2).map(tabState))).every((s, i) =>
        allTargets(s, (n, id) => n > early[i].events[id])),
    { timeoutMs: BUDGET_MS + 3000, intervalMs: 50, what: "tabs 1-2 to keep updating" });
    const states = await Promise.all(tabs.map(tabState));
    states.forEach((s, i) => t.diagnostic(`tab ${i + 1} after ${Date.now() - t0} ms: ${describeState(s)}`));
    for (const [i, s] of states.slice(2).entries()) {
      assert.equal(s.opens, 0, `tab ${i + 3}: no EventSource got a connection`);
      assert.ok(allTargets(s, (n, id) => n === 0 && !s.changed[id]), `tab ${i + 3} received nothing: ${describeState(s)}`);
    }
    assert.equal(await openStreams(), 6, "the frontend holds 6 streams: tabs 1-2's");

    // It is the connection limit: closing tab 1 gives back 3 connections,
    // and 3 of the 9 waiting EventSources get them.
    await tabs[0].close();
    await waitFor(async () => (await Promise.all(tabs.slice(2).map(tabState))).reduce((a, s) => a + s.opens, 0) === 3,
                  { timeoutMs: 5000, what: "3 waiting EventSources of tabs 3-5 to open after tab 1 closed" });
    await waitFor(async () => (await openStreams()) === 6, { timeoutMs: 5000, what: "the frontend to hold 6 streams again" });
    const opened = (await Promise.all(tabs.slice(2).map(tabState))).map((s) => s.opens);
    t.diagnostic(`after tab 1 closed, EventSources opened in tabs 3-${TABS}: ${opened.join(",")}`);
    assert.deepEqual(browser.problems, []);
    await closeAll(tabs.slice(1));
  });

  test("the lobby chatter posted without errors", () => {
    assert.deepEqual(chatter.errors, []);
  });
});
