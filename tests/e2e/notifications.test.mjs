// Notifications page (frontend/web/site/notifications.html), behind the
// demo's development login (issue 17): two users signed in in two browsers
// each see only their own notifications, and a page without a login opens
// no stream. Then the page's stream is cut while notifications keep being
// posted; after the browser reconnects (Last-Event-ID) it shows every
// notification exactly once, in order.
//
// Two frontends share the notifications service: the page talks to one,
// which is restarted on the same port; the test posts through the other
// (POST /api/notify with the user's token), which stays up, so posting
// never pauses and every posted id is known from the `sent` fragment.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { launch } from "./lib/browser.mjs";
import { installProbe, sseRecords } from "./lib/page_probe.mjs";
import { Stack, devLogin, sleep, waitFor } from "./lib/stack.mjs";

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
    const token = await devLogin(poster.base, user);
    for (let i = 1; !stopped; i++) {
      const text = `${prefix} ${i}`;
      const t = Date.now();
      try {
        const r = await fetch(poster.base + "/api/notify", {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded", authorization: `Bearer ${token}` },
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

// Signs `page` in as `user` through the page's own form and waits until its
// inbox stream is live.
async function signIn(page, user) {
  // Signed out first: the page then opens no stream until the sign-in.
  await page.goto(stack.base + "/auth/dev-login/logout");
  await page.goto(stack.base + "/notifications.html");
  await page.waitForSelector('body[data-auth="anonymous"]');
  await page.fill("#who", user);
  await Promise.all([page.waitForNavigation(), page.click('#switch-user button[type="submit"]')]);
  await page.waitForSelector('body[data-auth="signed-in"]');
  await page.waitForSelector('#conn[data-state="live"]');
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
  const streamRequests = [];
  page.on("request", (r) => {
    if (new URL(r.url()).pathname !== "/api/notifications") return;
    const entry = { t: Date.now(), headers: {} };
    streamRequests.push(entry);
    r.allHeaders().then((h) => { entry.headers = h; }, () => {});
  });
  await signIn(page, user);
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

  test("two users in two browsers each see only their own inbox; no login, no stream", async (t) => {
    const other = await launch();
    t.after(() => other.cleanup());
    const alice = `e2e-alice-${tag}`, bob = `e2e-bob-${tag}`;
    const pa = await browser.newPage(), pb = await other.newPage();
    t.after(() => pa.close().catch(() => {}));
    await signIn(pa, alice);
    await signIn(pb, bob);
    const pA = startPosting(alice, `for-alice-${tag}`), pB = startPosting(bob, `for-bob-${tag}`);
    const texts = (p) => p.$$eval("#notif-list li.notification", (l) => l.map((li) => li.firstChild.textContent.trim()));
    await waitFor(async () => (await texts(pa)).length >= 3 && (await texts(pb)).length >= 3,
                  { timeoutMs: 15000, what: "3 notifications on each page" });
    await pA.stop();
    await pB.stop();
    const [ta, tb] = [await texts(pa), await texts(pb)];
    assert.ok(ta.every((x) => x.startsWith(`for-alice-${tag}`)), `alice sees only hers: ${ta}`);
    assert.ok(tb.every((x) => x.startsWith(`for-bob-${tag}`)), `bob sees only his: ${tb}`);

    // Signed out: the page opens no stream, and the stream refuses it.
    const asked = [];
    pb.on("request", (r) => { if (new URL(r.url()).pathname === "/api/notifications") asked.push(r.url()); });
    await pb.goto(stack.base + "/auth/dev-login/logout");
    await pb.goto(stack.base + "/notifications.html");
    await pb.waitForSelector('body[data-auth="anonymous"]');
    assert.equal(await pb.textContent("#conn"), "Not signed in");
    const status = await pb.evaluate(async () => (await fetch("/api/notifications")).status);
    assert.equal(status, 401, "the stream without a token");
    assert.equal(asked.length, 1, "the only request for the stream was the test's own fetch");
    assert.deepEqual(browser.problems, []);
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
