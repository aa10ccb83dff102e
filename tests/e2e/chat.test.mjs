// Chat page (frontend/web/site/chat.html) against the real chat_bot service:
//   1. the bot's answer streams in word by word and the stream ends for good
//   2. HTML/script in messages is shown as text in every open tab
//   3. two browsers in one room see each other's messages live
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { launch } from "./lib/browser.mjs";
import { installProbe, sseRecords } from "./lib/page_probe.mjs";
import { Stack, devLogin, sleep, waitFor } from "./lib/stack.mjs";

const tag = Math.random().toString(36).slice(2, 8);
let stack;
// Two browsers (separate Chromium processes and profiles) shared by the
// tests; each test opens its own tabs and closes them when it ends.
let alice;
let bob;

// A fresh tab on chat.html with its room feed live, closed when `t` ends.
async function openChat(t, ctx) {
  const page = await ctx.newPage();
  t.after(() => page.close().catch(() => {}));
  await page.goto(stack.base + "/chat.html");
  await page.waitForSelector('#conn[data-state="live"]');
  return page;
}

// Page errors and dialogs that happened in `contexts` since `mark()`.
function problemsSince(contexts) {
  const start = contexts.map((c) => [c.problems.length, c.dialogs.length]);
  return () => ({
    problems: contexts.flatMap((c, i) => c.problems.slice(start[i][0])),
    dialogs: contexts.flatMap((c, i) => c.dialogs.slice(start[i][1])),
  });
}

// The number of streams /api/chat_send has had at the frontend, over all
// outcomes, and how many are open.
async function chatSendStreams() {
  const route = "/api/chat_send";
  return {
    ended: await stack.metricSum("ssebridge_streams_total", { route }),
    open: await stack.metricSum("ssebridge_open_streams", { route }),
    done: await stack.metricSum("ssebridge_streams_total", { route, outcome: "done" }),
  };
}

describe("chat", () => {
  before(async () => {
    stack = await new Stack({ services: ["chat_bot"] }).start();
    [alice, bob] = await Promise.all([launch(), launch()]);
    await Promise.all([installProbe(alice), installProbe(bob)]);
  });
  after(async () => {
    for (const b of [alice, bob]) if (b) await b.cleanup();
    if (stack) await stack.stop();
  });

  test("1. the reply streams word by word, then sse-close ends it without a reconnect", async (t) => {
    const seen = problemsSince([alice]);
    const page = await openChat(t, alice);
    const sendRequests = [];
    page.on("request", (r) => {
      if (new URL(r.url()).pathname === "/api/chat_send") sendRequests.push(r.url());
    });
    assert.deepEqual(await chatSendStreams(), { ended: 0, open: 0, done: 0 });

    const input = 'form[hx-post="/api/chat"] input[name=message]';
    await page.fill(input, "hello bot");
    await page.press(input, "Enter");
    // The user's bubble comes back from the hx-post, then the bot's bubble
    // streams. (What the bubble showed after each event is in the probe's
    // records: "Bot is thinking..." lasts only the bot's think delay.)
    await page.waitForSelector("#conversation .msg.user >> text=hello bot");
    await waitFor(async () => (await sseRecords(page, "/api/chat_send")).some((r) => r.kind === "close"),
                  { timeoutMs: 15000, what: "the chat_send stream to close" });

    const recs = await sseRecords(page, "/api/chat_send");
    const messages = recs.filter((r) => r.kind === "message");
    t.diagnostic(`chat_send events: ${JSON.stringify(recs.map((r) => [r.kind, r.type, r.text]))}`);
    assert.equal(recs[0].kind, "open", "the stream opened first");
    assert.ok(messages.length >= 4, `thinking + at least 3 reply states, got ${messages.length}`);
    assert.equal(messages[0].type, "update");
    assert.equal(messages[0].text, "Bot is thinking...", "the bubble first shows the thinking notice");
    const states = messages.slice(1).map((m) => m.text);
    const final = states[states.length - 1];
    assert.equal(final, "Hello! I am the sse-bridge demo bot. Ask me what time it is, or type help.");
    const intermediate = states.slice(0, -1);
    assert.ok(intermediate.length >= 2, `at least two intermediate states, got ${JSON.stringify(intermediate)}`);
    for (let i = 0; i < states.length; i++) {
      assert.ok(final.startsWith(states[i]), `state ${i} "${states[i]}" is a prefix of the reply`);
      if (i > 0) {
        assert.equal(states[i].split(" ").length, states[i - 1].split(" ").length + 1,
                     `state ${i} adds exactly one word`);
      }
    }
    // The page shows the final reply, in the bubble that streamed it.
    assert.equal(await page.textContent('#conversation [sse-connect^="/api/chat_send"] .text'), final);

    // Closed by sse-close on the terminal event, not by an error.
    const closes = recs.filter((r) => r.kind === "close");
    assert.deepEqual(closes.map((r) => r.type), ["message"], "closed once, by the done event");
    assert.equal(recs.filter((r) => r.kind === "error").length, 0, "no stream error");
    assert.equal(recs[recs.length - 1].kind, "close", "nothing after the close");

    // The frontend counted exactly one chat_send stream, ended as "done".
    await waitFor(async () => {
      const s = await chatSendStreams();
      return s.ended === 1 && s.open === 0;
    }, { timeoutMs: 5000, what: "the frontend to count the ended chat_send stream" });
    assert.equal(sendRequests.length, 1, "one request to /api/chat_send");

    // Longer than EventSource's default reconnection delay (3 s) and any
    // backoff start: neither the browser nor htmx may open it again.
    await sleep(4500);
    assert.deepEqual(sendRequests.length, 1, `no new /api/chat_send request: ${sendRequests.join(", ")}`);
    assert.deepEqual(await chatSendStreams(), { ended: 1, open: 0, done: 1 },
                     "the frontend saw no second chat_send stream");
    assert.equal((await sseRecords(page, "/api/chat_send")).length, recs.length, "no further SSE activity");
    assert.equal(await page.locator("#conversation .msg.bot[sse-connect]").count(), 1, "one bot bubble");
    assert.deepEqual(seen(), { problems: [], dialogs: [] });
  });

  test("2. markup in messages is text in every tab; no script runs", async (t) => {
    const seen = problemsSince([alice, bob]);
    const tabs = [await openChat(t, alice), await openChat(t, alice), await openChat(t, bob)];
    const probes = [];  // requests a rendered <img src=x> would make
    for (const page of tabs) {
      page.on("request", (r) => {
        const p = new URL(r.url()).pathname;
        if (p === "/x" || p === "/y") probes.push(r.url());
      });
    }
    const viaBot = `xss-${tag} <script>window.__pwned=1</script> <img src=x onerror="window.__pwned=1;alert('pwned')">`;
    const viaRoom = `xss2-${tag} <img src=y onerror="window.__pwned=2;alert('pwned')"><b>bold</b></div><script>window.__pwned=3</script>`;

    // Through the bot form: hx-post fragment (the user's bubble) and the
    // room feed (chat_send publishes the message to the room).
    await tabs[0].fill('form[hx-post="/api/chat"] input[name=message]', viaBot);
    await tabs[0].press('form[hx-post="/api/chat"] input[name=message]', "Enter");
    // Through the room form of the other browser: chat_post -> chat_stream.
    await tabs[2].fill('form[hx-post="/api/chat_post"] input[name=message]', viaRoom);
    await tabs[2].press('form[hx-post="/api/chat_post"] input[name=message]', "Enter");

    for (const [i, page] of tabs.entries()) {
      await page.waitForFunction(([m1, m2]) => {
        const texts = [...document.querySelectorAll("#room-feed .msg .text")].map((e) => e.textContent);
        return texts.includes(m1) && texts.includes(m2);
      }, [viaBot, viaRoom], { timeout: 15000, polling: 50 }).catch((e) => {
        throw new Error(`tab ${i} did not show both messages as text: ${e.message}`);
      });
    }
    // The sender's own bubble from the hx-post fragment is text too.
    assert.equal(await tabs[0].locator("#conversation .msg.user .text").last().textContent(), viaBot);
    // Give a rendered image time to fail and fire onerror.
    await sleep(1000);
    for (const [i, page] of tabs.entries()) {
      const found = await page.evaluate(() => ({
        pwned: window.__pwned,
        injected: document.querySelectorAll(
          "#room-feed img, #room-feed script, #room-feed b, #conversation img, #conversation script").length,
        feedMessages: document.querySelectorAll("#room-feed .msg").length,
      }));
      assert.equal(found.pwned, undefined, `tab ${i}: window.__pwned was set`);
      assert.equal(found.injected, 0, `tab ${i}: markup from a message became elements`);
      assert.ok(found.feedMessages >= 2, `tab ${i}: room feed has the messages`);
    }
    assert.deepEqual(probes, [], "no request from an injected <img>");
    assert.deepEqual(seen(), { problems: [], dialogs: [] }, "no dialog opened, no page error");
  });

  test("3. two browsers in one room see each other's messages live", async (t) => {
    const seen = problemsSince([alice, bob]);
    // Signed in (the demo's dev login): the room shows each verified name.
    for (const [ctx, name] of [[alice, "alice"], [bob, "bob"]]) {
      await ctx.addCookies([{ name: "ssebridge_token", value: await devLogin(stack.base, name), url: stack.base }]);
    }
    t.after(() => Promise.all([alice.clearCookies(), bob.clearCookies()]));
    const pa = await openChat(t, alice);
    const pb = await openChat(t, bob);
    const lobby = await openChat(t, alice);  // must not see them
    let navigations = 0;
    for (const p of [pa, pb]) p.on("framenavigated", (f) => { if (f === p.mainFrame()) navigations++; });

    for (const [page, name] of [[pa, "alice"], [pb, "bob"]]) {
      await page.fill("#user", name);
      await page.selectOption("#room", "engineering");
      await page.waitForSelector('#room-stream[sse-connect="/api/chat_stream?room=engineering"]');
      await page.waitForSelector('#conn[data-state="live"]');
    }
    const say = async (page, text) => {
      await page.fill('form[hx-post="/api/chat_post"] input[name=message]', text);
      await page.press('form[hx-post="/api/chat_post"] input[name=message]', "Enter");
      await page.waitForSelector("#post-result .sent");
      await page.evaluate(() => { document.getElementById("post-result").textContent = ""; });
    };
    const feed = (page) => page.$$eval("#room-feed .msg", (l) => l.map((m) => [
      m.querySelector(".who").textContent, m.querySelector(".text").textContent]));
    const shows = (page, who, text) => page.waitForFunction(([w, t]) =>
      [...document.querySelectorAll("#room-feed .msg")].some((m) =>
        m.querySelector(".who").textContent === w && m.querySelector(".text").textContent === t),
    [who, text], { timeout: 10000, polling: 50 });

    const m1 = `hi from alice ${tag}`;
    const m2 = `hi alice, bob here ${tag}`;
    const t0 = Date.now();
    await say(pa, m1);
    await shows(pb, "alice", m1);
    const aliceToBob = Date.now() - t0;
    const t1 = Date.now();
    await say(pb, m2);
    await shows(pa, "bob", m2);
    const bobToAlice = Date.now() - t1;

    const expected = [["alice", m1], ["bob", m2]];
    assert.deepEqual((await feed(pa)).filter(([, t]) => t.endsWith(tag)), expected);
    assert.deepEqual((await feed(pb)).filter(([, t]) => t.endsWith(tag)), expected);
    assert.equal(navigations, 0, "no page reload: the messages arrived over the open streams");
    t.diagnostic(`delivery alice->bob ${aliceToBob} ms, bob->alice ${bobToAlice} ms`);
    assert.ok(aliceToBob < 5000 && bobToAlice < 5000, `delivery took ${aliceToBob} / ${bobToAlice} ms`);
    await sleep(300);
    assert.deepEqual((await feed(lobby)).filter(([, t]) => t.endsWith(tag) && !t.startsWith("xss")), [],
                     "the #lobby tab did not get #engineering messages");
    assert.deepEqual(seen(), { problems: [], dialogs: [] });
  });
});
