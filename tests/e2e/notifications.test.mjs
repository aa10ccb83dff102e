// Notifications page (frontend/web/site/notifications.html): the page's
// stream is cut while notifications keep being posted; after the browser
// reconnects (Last-Event-ID) it shows every notification exactly once, in
// order.
//
// Two frontends share the notifications service: the page talks to one,
// which is restarted on the same port; the test posts through the other
// (POST /api/notify, x-user header), which stays up, so posting never
// pauses and every posted id is known from the `sent` fragment.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { launch } from "./lib/browser.mjs";
import { installProbe, sseRecords } from "./lib/page_probe.mjs";
import { Stack, sleep, waitFor } from "./lib/stack.mjs";

const tag = Math.random().toString(36).slice(2, 8);
const POST_EVERY_MS = 150;
let stack;
let poster;  // { base } of the frontend the test posts through
let browser;

// Posts notifications for `user` until stop(); each post's id and text.
function startPosting(user, prefix) {
  const posted = [];
  let stopped = false;
  const errors = [];
  const loop = (async () => {
    for (let i = 1; !stopped; i++) {
      const text = `${prefix} ${i}`;
      const t = Date.now();
      try {
        const r = await fetch(poster.base + "/api/notify", {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded", "x-user": user },
          body: new URLSearchParams({ text }),
          signal: AbortSignal.timeout(5000),
        });
        const body = await r.text();
        const m = body.match(/class="sent" data-id="(\d+)"/);
        if (r.status !== 200 || !m) throw new Error(`status ${r.status}: ${body.slice(0, 200)}`);
        posted.push({ id: Number(m[1]), text, t });
      } catch (e) {
        errors.push(e.message);
        if (errors.length > 5) throw new Error("posting failed: " + errors.join("; "));
      }
      await sleep(POST_EVERY_MS);
    }
  })();
  return {
    posted,
    async stop() {
      stopped = true;
      await loop;
      return posted;
    },
  };
}

// Opens the page as a fresh user, posts notifications all along, runs
// `cut` (which takes the page's frontend away and brings it back, returning
// how long it was down), and checks what the page shows. `attempts`: how
// many times the browser is expected to ask for the stream after the cut
// (null = at least once).
async function runOutage(t, kind, cut, { attempts = 1 } = {}) {
  const user = `e2e-${kind}-${tag}`;
  const page = await browser.newPage();
  t.after(() => page.close().catch(() => {}));
  await browser.addCookies([{ name: "user", value: user, url: stack.base }]);
  const streamRequests = [];
  page.on("request", (r) => {
    if (new URL(r.url()).pathname !== "/api/notifications") return;
    const entry = { t: Date.now(), headers: {} };
    streamRequests.push(entry);
    r.allHeaders().then((h) => { entry.headers = h; }, () => {});
  });
  await page.goto(stack.base + "/notifications.html");
  await page.waitForSelector('#conn[data-state="live"]');
  assert.equal(await page.inputValue("#who"), user, "the page runs as the test's user");

  const posting = startPosting(user, `note-${kind}-${tag}`);
  t.after(() => posting.stop().catch(() => {}));
  const received = async () => (await sseRecords(page, "/api/notifications"))
    .filter((r) => r.kind === "message" && r.type === "notification");
  await waitFor(async () => (await received()).length >= 5, { timeoutMs: 15000, what: "5 notifications before the cut" });

  // Cut the page's connection: the frontend it talks to goes away and comes
  // back on the same port; posting goes on meanwhile.
  const cutAt = Date.now();
  const downMs = await cut();

  await waitFor(async () => (await sseRecords(page, "/api/notifications")).filter((r) => r.kind === "open").length >= 2,
                { timeoutMs: 20000, what: "the page's stream to reopen" });
  const reopenedAt = Date.now();
  await sleep(1500);  // live notifications after the replay
  const posted = await posting.stop();
  const lastPosted = posted[posted.length - 1].id;
  await waitFor(async () => {
    const r = await received();
    return r.length && Number(r[r.length - 1].id) >= lastPosted;
  }, { timeoutMs: 10000, what: `the page to receive the last posted id ${lastPosted}` });
  await sleep(300);  // anything extra (a duplicate) would arrive now

  const recs = await sseRecords(page, "/api/notifications");
  const got = recs.filter((r) => r.kind === "message" && r.type === "notification").map((r) => Number(r.id));
  t.diagnostic(`${kind}: stream events ${JSON.stringify(recs.filter((r) => r.kind !== "message" || r.type !== "notification").map((r) => [r.kind, r.type]))}`);
  t.diagnostic(`${kind}: received ids ${got.join(",")}; posted ${posted[0].id}..${lastPosted}; reopened after ${reopenedAt - cutAt} ms`);

  // Ids strictly increasing (no duplicates), and exactly what was posted
  // from the first one the page saw (no gaps).
  for (let i = 1; i < got.length; i++) assert.ok(got[i] > got[i - 1], `ids increase: ${got[i - 1]} then ${got[i]}`);
  const first = got[0];
  const expected = posted.filter((p) => p.id >= first);
  assert.deepEqual(got, expected.map((p) => p.id), "every posted notification exactly once, in order");
  assert.equal(recs.filter((r) => r.kind === "message" && r.type === "reset").length, 0, "no reset");

  // The last id the page had when its stream broke (the first error).
  const firstError = recs.findIndex((r) => r.kind === "error");
  assert.ok(firstError > 0, "the page saw its stream break");
  const beforeCut = recs.slice(0, firstError).filter((r) => r.kind === "message" && r.type === "notification");
  const lastBefore = Number(beforeCut[beforeCut.length - 1].id);
  t.diagnostic(`${kind}: frontend down ${downMs} ms; the page had ids up to ${lastBefore} when its stream broke`);

  // Some were posted while the page had no stream (before it asked again),
  // so they can only have come from the replay.
  const askedAgainAt = streamRequests[streamRequests.length - 1].t;
  const whileCut = posted.filter((p) => p.id > lastBefore && p.t < askedAgainAt);
  assert.ok(whileCut.length >= 3, `${whileCut.length} posted while the page was disconnected`);

  t.diagnostic(`${kind}: stream requests at ${streamRequests.map((r) => r.t - cutAt).join(", ")} ms from the cut`);
  // The reconnect that got through carried the last id the browser had.
  // (Attempts refused while the frontend was down are reported without
  // their request headers, so only the last one is checked.)
  const again = streamRequests.slice(1);
  if (attempts === null) assert.ok(again.length >= 1, "the browser asked again");
  else assert.equal(again.length, attempts, `requests for the stream after the cut: ${again.length}`);
  assert.equal(again[again.length - 1].headers["last-event-id"], String(lastBefore),
               "the reconnect sent Last-Event-ID");

  // The page shows them, newest first, each once, with the unread badge.
  const shown = await page.$$eval("#notif-list li.notification", (l) => l.map((li) => li.firstChild.textContent.trim()));
  assert.deepEqual(shown, expected.map((p) => p.text).reverse());
  assert.equal(await page.getAttribute("#notif-page .badge[data-unread]", "data-count"), String(expected.length));
}

describe("notifications", () => {
  before(async () => {
    stack = await new Stack({ services: ["notifications"], serviceArgs: { notifications: [] } }).start();
    poster = await stack.launchFrontend(0);
    browser = await launch();
    await installProbe(browser);
  });
  after(async () => {
    if (browser) await browser.cleanup();
    if (stack) await stack.stop();
  });

  test("4a. frontend restart (SIGTERM): resume with Last-Event-ID, exactly once, in order", async (t) => {
    await runOutage(t, "restart", async () => {
      const t0 = Date.now();
      await stack.frontend.stop("SIGTERM");
      await stack.startFrontend(stack.port);
      return Date.now() - t0;
    });
    assert.deepEqual(browser.problems, []);
  });

  test("4b. frontend crash (SIGKILL) and restart: resume with Last-Event-ID, exactly once, in order", async (t) => {
    await runOutage(t, "crash", async () => {
      const t0 = Date.now();
      await stack.frontend.stop("SIGKILL");
      await stack.startFrontend(stack.port);
      return Date.now() - t0;
    }, { attempts: null });
    assert.deepEqual(browser.problems, []);
  });

  // Longer than the route's retry (2 s): the browser's reconnects fail
  // (connection refused) and it keeps trying, still with Last-Event-ID.
  test("4c. frontend down 4 s (longer than retry): resume, exactly once, in order", async (t) => {
    await runOutage(t, "outage", async () => {
      const t0 = Date.now();
      await stack.frontend.stop("SIGKILL");
      await sleep(4000);
      await stack.startFrontend(stack.port);
      return Date.now() - t0;
    }, { attempts: null });
    assert.deepEqual(browser.problems, []);
  });
});
