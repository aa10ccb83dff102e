// Notifications on Redis Streams (issue 18), in the browser: the page reads
// its inbox through the frontend from one notifications instance while the
// test posts through a second replica (its own frontend) on the same
// redis-server. The first instance is killed with SIGKILL mid-stream and a
// new instance started on its port; the browser's EventSource reconnects
// with Last-Event-ID (a Redis entry id) and the page shows every
// notification exactly once, in order, including those posted while no
// instance served the page.
//
// redis-server (Debian's) runs on an ephemeral loopback port with
// requirepass, the password read by the services from a file.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import YAML from "yaml";
import { launch } from "./lib/browser.mjs";
import { installProbe, sseRecords } from "./lib/page_probe.mjs";
import { Proc, Stack, binary, devLogin, freePort, sleep, waitFor } from "./lib/stack.mjs";

const tag = Math.random().toString(36).slice(2, 8);
const POST_EVERY_MS = 150;
const REDIS_SERVER = "/usr/bin/redis-server";
let redis;       // Proc
let redisArgs;   // the services' --redis flags
let stack;       // page frontend + notifications instance A
let replica;     // notifications instance B (posting)
let poster;      // frontend in front of B
let browser;

// A Redis stream entry id "ms-seq" as a comparable pair.
const entryKey = (id) => {
  const m = /^(\d+)-(\d+)$/.exec(id);
  assert.ok(m, `a Redis entry id: ${id}`);
  return [BigInt(m[1]), BigInt(m[2])];
};
const entryLess = (a, b) => {
  const [x, y] = [entryKey(a), entryKey(b)];
  return x[0] < y[0] || (x[0] === y[0] && x[1] < y[1]);
};

async function startRedis(dir, logDir) {
  const password = `e2e-${tag}-${Math.random().toString(36).slice(2)}`;
  const passwordFile = path.join(dir, "redis_password");
  fs.writeFileSync(passwordFile, password + "\n", { mode: 0o600 });
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const proc = new Proc("redis", REDIS_SERVER,
                          ["--bind", "127.0.0.1", "--port", String(port), "--requirepass", password,
                           "--save", "", "--appendonly", "yes", "--appendfsync", "always",
                           "--dir", dir, "--daemonize", "no"],
                          logDir);
    try {
      await proc.waitForOutput(/Ready to accept connections/, 10000);
      return { proc, port, passwordFile };
    } catch (e) {
      await proc.stop("SIGKILL");
      if (attempt < 3 && /in use/i.test(proc.output)) continue;
      throw e;
    }
  }
}

// A notifications instance on Redis listening on `port` (0 = ephemeral),
// retried while a killed predecessor's port is being released.
async function startNotifications(name, logDir, port) {
  const deadline = Date.now() + 15000;
  for (;;) {
    const proc = new Proc(name, binary("notifications"),
                          [...redisArgs, `--listen=127.0.0.1:${port}`], logDir);
    try {
      const m = await proc.waitForOutput(/serving .* on port (\d+)/, 10000);
      proc.port = Number(m[1]);
      return proc;
    } catch (e) {
      await proc.stop("SIGKILL");
      if (port !== 0 && Date.now() < deadline) {
        await sleep(100);
        continue;
      }
      throw e;
    }
  }
}

// Posts notifications for `user` through the poster until stop().
function startPosting(user, prefix) {
  const posted = [];
  let stopped = false;
  const loop = (async () => {
    const token = await devLogin(poster.base, user);
    for (let i = 1; !stopped; i++) {
      const text = `${prefix} ${i}`;
      const t = Date.now();
      const r = await fetch(poster.base + "/api/notify", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", authorization: `Bearer ${token}` },
        body: new URLSearchParams({ text }),
        signal: AbortSignal.timeout(5000),
      });
      const body = await r.text();
      const m = body.match(/class="sent" data-id="([^"]+)"/);
      if (r.status !== 200 || !m) throw new Error(`posting: status ${r.status}: ${body.slice(0, 200)}`);
      posted.push({ id: m[1], text, t });
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

const skip = fs.existsSync(REDIS_SERVER) ? false : `${REDIS_SERVER} is not installed (make deps installs redis-server)`;
if (skip) console.log(`# skipping notifications on Redis: ${skip}`);

describe("notifications on Redis", { skip }, () => {
  before(async () => {
    // Redis first: the stack's notifications instance needs its address.
    stack = new Stack({ services: [], configOverrides: {} });
    redis = await startRedis(stack.tmp, stack.logDir);
    redisArgs = [`--redis=127.0.0.1:${redis.port}`, `--redis_password_file=${redis.passwordFile}`];
    stack.serviceNames = ["notifications"];
    stack.serviceArgs = { notifications: redisArgs };
    await stack.start();
    stack.services.redis = redis.proc;

    // Replica B with a frontend of its own: the same config, B's port.
    replica = await startNotifications("notifications-B", stack.logDir, 0);
    stack.services["notifications-B"] = replica;
    const cfg = YAML.parse(fs.readFileSync(stack.configFile, "utf8"));
    for (const b of cfg.backends) if (b.name === "notifications") b.target = `127.0.0.1:${replica.port}`;
    const posterConfig = path.join(stack.logDir, "frontend-poster.yaml");
    fs.writeFileSync(posterConfig, YAML.stringify(cfg));
    const proc = new Proc("frontend-poster", binary("frontend"), ["--config", posterConfig, "--port", "0"], stack.logDir);
    stack.frontends.push(proc);
    const m = await proc.waitForOutput(/listening on http:\/\/([^:/\s]+):(\d+)\//);
    poster = { proc, base: `http://127.0.0.1:${m[2]}` };

    browser = await launch();
    await installProbe(browser);
  });
  after(async () => {
    if (browser) await browser.cleanup();
    if (stack) await stack.stop();
  });

  test("service killed (SIGKILL), a new instance: the page resumes from Redis exactly once, in order", async (t) => {
    const user = `e2e-redis-${tag}`;
    const page = await browser.newPage();
    t.after(() => page.close().catch(() => {}));
    const streamRequests = [];
    page.on("request", (r) => {
      if (new URL(r.url()).pathname !== "/api/notifications") return;
      const entry = { t: Date.now(), headers: {} };
      streamRequests.push(entry);
      r.allHeaders().then((h) => { entry.headers = h; }, () => {});
    });
    await page.goto(stack.base + "/auth/dev-login/logout");
    await page.goto(stack.base + "/notifications.html");
    await page.waitForSelector('body[data-auth="anonymous"]');
    await page.fill("#who", user);
    await Promise.all([page.waitForNavigation(), page.click('#switch-user button[type="submit"]')]);
    await page.waitForSelector('#conn[data-state="live"]');

    const posting = startPosting(user, `redis-note-${tag}`);
    t.after(() => posting.stop().catch(() => {}));
    const received = async () => (await sseRecords(page, "/api/notifications"))
      .filter((r) => r.kind === "message" && r.type === "notification");
    await waitFor(async () => (await received()).length >= 5,
                  { timeoutMs: 15000, what: "5 notifications before the kill" });

    // kill -9 of the instance serving the page; a new one on its port.
    const a = stack.services.notifications;
    const countBefore = (await received()).length;
    const killedAt = Date.now();
    await a.stop("SIGKILL");
    stack.services.notifications = await startNotifications("notifications-A2", stack.logDir, a.port);
    const restartedAt = Date.now();

    await waitFor(async () => (await sseRecords(page, "/api/notifications")).filter((r) => r.kind === "open").length >= 2,
                  { timeoutMs: 20000, what: "the page's stream to reopen" });
    await waitFor(async () => (await received()).length >= countBefore + 15,
                  { timeoutMs: 20000, what: "live notifications after the resume" });
    const posted = await posting.stop();
    const lastPosted = posted[posted.length - 1].id;
    await waitFor(async () => {
      const r = await received();
      return r.length && r[r.length - 1].id === lastPosted;
    }, { timeoutMs: 10000, what: `the page to receive the last posted id ${lastPosted}` });

    const recs = await sseRecords(page, "/api/notifications");
    const got = recs.filter((r) => r.kind === "message" && r.type === "notification").map((r) => r.id);
    t.diagnostic(`events other than notifications: ${JSON.stringify(recs.filter((r) => r.kind !== "message" || r.type !== "notification").map((r) => [r.kind, r.type]))}`);
    t.diagnostic(`received ${got.length} ids ${got[0]}..${got[got.length - 1]}; posted ${posted.length}; new instance after ${restartedAt - killedAt} ms`);

    for (let i = 1; i < got.length; i++) assert.ok(entryLess(got[i - 1], got[i]), `ids increase: ${got[i - 1]} then ${got[i]}`);
    const firstIndex = posted.findIndex((p) => p.id === got[0]);
    assert.ok(firstIndex >= 0, `the first id the page saw (${got[0]}) was posted by the test`);
    const expected = posted.slice(firstIndex);
    assert.deepEqual(got, expected.map((p) => p.id), "every posted notification exactly once, in order");
    assert.equal(recs.filter((r) => r.kind === "message" && r.type === "reset").length, 0, "no reset");

    // Some were posted while the page had no stream: only Redis had them.
    const firstError = recs.findIndex((r) => r.kind === "error" || (r.kind === "message" && r.type === "error"));
    assert.ok(firstError > 0, "the page saw its stream break");
    const beforeCut = recs.slice(0, firstError).filter((r) => r.kind === "message" && r.type === "notification");
    const lastBefore = beforeCut[beforeCut.length - 1].id;
    const askedAgainAt = streamRequests[streamRequests.length - 1].t;
    const whileCut = posted.filter((p) => entryLess(lastBefore, p.id) && p.t < askedAgainAt);
    assert.ok(whileCut.length >= 3, `${whileCut.length} posted while the page was disconnected`);
    assert.equal(streamRequests[streamRequests.length - 1].headers["last-event-id"], lastBefore,
                 "the reconnect sent the last Redis entry id the page had");

    const shown = await page.$$eval("#notif-list li.notification", (l) => l.map((li) => li.firstChild.textContent.trim()));
    assert.deepEqual(shown, expected.map((p) => p.text).reverse());
    assert.deepEqual(browser.problems, []);
  });
});
