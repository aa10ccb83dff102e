// Dashboard page (frontend/web/site/dashboard.html) against the real
// monitoring service: the four panels update at least 3 times in 5 s with
// this machine's real, changing figures, the charts draw, and a screenshot
// is saved under tests/e2e/artifacts/.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { launch } from "./lib/browser.mjs";
import { installProbe, sseRecords } from "./lib/page_probe.mjs";
import { ARTIFACTS_DIR, Stack, sleep } from "./lib/stack.mjs";

let stack;
let browser;

// The service's FormatBytes: 1024 steps, one decimal, "B" without.
function formatBytes(bytes) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let u = 0;
  while (bytes >= 1024 && u + 1 < units.length) { bytes /= 1024; u++; }
  return u === 0 ? `${Math.floor(bytes)} B` : `${bytes.toFixed(1)} ${units[u]}`;
}

function procFacts() {
  const meminfo = fs.readFileSync("/proc/meminfo", "utf8");
  const stat = fs.readFileSync("/proc/stat", "utf8");
  return {
    memTotalKb: Number(meminfo.match(/^MemTotal:\s+(\d+) kB/m)[1]),
    cores: stat.split("\n").filter((l) => /^cpu\d+ /.test(l)).length,
  };
}

describe("dashboard", () => {
  before(async () => {
    stack = await new Stack({ services: ["monitoring"] }).start();
    browser = await launch();
    await installProbe(browser);
    // The `metrics` JSON is never swapped (app.js cancels it and draws the
    // charts): keep a copy of each for the assertions.
    await browser.addInitScript(() => {
      window.__metrics = [];
      document.addEventListener("htmx:sseBeforeMessage", (e) => {
        if (e.detail && e.detail.type === "metrics") window.__metrics.push(e.detail.data);
      }, true);
    });
  });
  after(async () => {
    if (browser) await browser.cleanup();
    if (stack) await stack.stop();
  });

  test("5. panels update at least 3 times in 5 s with real, changing numbers; screenshot", async (t) => {
    const page = await browser.newPage();
    t.after(() => page.close().catch(() => {}));
    await page.goto(stack.base + "/dashboard.html");
    await page.waitForSelector('#conn[data-state="live"]');
    const facts = procFacts();

    // Count the updates of each panel within 5 s from the stream opening.
    const openT = (await sseRecords(page, "/api/dashboard")).find((r) => r.kind === "open").t;
    await sleep(5000);
    const recs = (await sseRecords(page, "/api/dashboard"))
      .filter((r) => r.kind === "message" && r.t <= openT + 5000);
    const byPanel = (type) => recs.filter((r) => r.type === type);
    const counts = Object.fromEntries(["cpu", "memory", "load", "network"].map((p) => [p, byPanel(p).length]));
    t.diagnostic(`updates within 5 s: ${JSON.stringify(counts)}`);
    for (const [panel, n] of Object.entries(counts)) assert.ok(n >= 3, `${panel} updated ${n} times in 5 s`);

    // Every update carries real figures of this machine.
    for (const r of byPanel("cpu")) {
      const total = Number(r.data.match(/<h3>CPU <span class="value">([\d.]+)%<\/span>/)[1]);
      assert.ok(total >= 0 && total <= 100, `cpu ${total}%`);
      assert.equal((r.data.match(/<li><span class="name">cpu\d+<\/span>/g) || []).length, facts.cores, "one row per core");
    }
    for (const r of byPanel("memory")) {
      const m = r.data.match(/<h3>Memory <span class="value">([\d.]+)%<\/span>.*<p>used (.+?) of (.+?), available/);
      assert.ok(m, `memory panel: ${r.data}`);
      assert.ok(Number(m[1]) > 0 && Number(m[1]) < 100, `memory used ${m[1]}%`);
      assert.equal(m[3], formatBytes(facts.memTotalKb * 1024), "memory total is /proc/meminfo's MemTotal");
    }
    for (const r of byPanel("load")) {
      const m = r.data.match(/<span class="value">(\d+\.\d\d)<\/span> (\d+\.\d\d) (\d+\.\d\d).*<p>(\d+) of (\d+) tasks runnable/);
      assert.ok(m, `load panel: ${r.data}`);
      assert.ok(Number(m[5]) > 0 && Number(m[4]) <= Number(m[5]), `${m[4]} of ${m[5]} tasks`);
    }
    for (const r of byPanel("network")) assert.match(r.data, /<tr><td>lo<\/td>/, "loopback row");

    // The figures change: the panels do not just repeat one snapshot, and in
    // the raw samples the loopback counters grow with every update (this
    // page's own stream runs over lo; the panels round to 0.1 GiB, so
    // they are checked in the JSON).
    const rounds = byPanel("cpu").map((r, i) =>
      ["cpu", "memory", "load", "network"].map((p) => byPanel(p)[i]?.data).join("\n"));
    assert.ok(new Set(rounds).size >= 2, "the panels changed between updates");
    const metrics = (await page.evaluate(() => window.__metrics)).map((d) => JSON.parse(d));
    assert.ok(metrics.length >= 3, `${metrics.length} metrics samples`);
    const lo = metrics.map((m) => m.network.interfaces.find((i) => i.name === "lo").rx_bytes);
    const times = metrics.map((m) => m.time_ms);
    for (let i = 1; i < metrics.length; i++) {
      assert.ok(lo[i] > lo[i - 1], `lo rx_bytes grows: ${lo.join(", ")}`);
      assert.ok(times[i] > times[i - 1], "sample times increase");
    }
    for (const m of metrics) assert.equal(m.memory.total_kb, facts.memTotalKb);
    t.diagnostic(`lo rx_bytes: ${lo.join(", ")}`);

    // The page shows the latest panels and the charts drew the samples.
    const shown = await page.evaluate(() => ({
      cpu: document.querySelector("#dash-stream .panel.cpu .value")?.textContent,
      skeletons: document.querySelectorAll("#dash-stream .skeleton").length,
      lines: document.querySelectorAll("svg.chart polyline").length,
    }));
    assert.match(shown.cpu || "", /^\d+\.\d%$/);
    assert.equal(shown.skeletons, 0, "no panel still waiting for data");
    assert.ok(shown.lines >= 4, `chart lines drawn: ${shown.lines}`);

    fs.mkdirSync(ARTIFACTS_DIR, { recursive: true });
    const file = path.join(ARTIFACTS_DIR, "dashboard.png");
    await page.screenshot({ path: file, fullPage: true });
    const png = fs.readFileSync(file);
    assert.ok(png.length > 10000 && png.subarray(1, 4).toString() === "PNG", "a PNG screenshot");
    console.log(`# screenshot: ${file}`);
    t.diagnostic(`screenshot: ${file}`);
    assert.deepEqual(browser.problems, []);
  });
});
