// Why the HTTP/2 edge matters: a page with 10 `sse-connect` elements.
// Straight to the frontend over HTTP/1.1 the browser opens at most 6
// connections per host, so 4 streams stall; through the nginx edge (TLS +
// HTTP/2, docker/nginx.conf.template) all 10 share one connection and live.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { launch } from "./lib/browser.mjs";
import { edgeMissing, startEdge } from "./lib/edge.mjs";
import { installProbe, sseRecords } from "./lib/page_probe.mjs";
import { Stack, buildDir, makeTempDir, removeTempDir, sleep, waitFor } from "./lib/stack.mjs";

const STREAMS = 10;
const WINDOW_MS = 5000;
const PAGE = "e2e-streams.html";
const skip = edgeMissing();

let stack;
let edge;
let browser;
let siteDir;

// The test page: the demo's htmx and SSE extension, ten dashboard streams
// (distinct URLs, 250 ms apart), each swapping its `load` panel in.
function streamsPage() {
  const elts = Array.from({ length: STREAMS }, (_, i) =>
    `  <div id="s${i}" class="stream" hx-ext="sse" sse-connect="/api/dashboard?interval_ms=250&amp;n=${i}" sse-swap="load">waiting</div>`);
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>e2e: ${STREAMS} streams</title>
  <script src="/vendor/htmx.min.js" defer></script>
  <script src="/vendor/sse.js" defer></script>
</head>
<body>
${elts.join("\n")}
</body>
</html>
`;
}

// Opens the page at `base` and watches it for WINDOW_MS from load: which
// elements received events, the protocol, and the frontend's open streams.
async function measure(t, base, label) {
  const page = await browser.newPage();
  t.after(() => page.close().catch(() => {}));
  await page.goto(`${base}/${PAGE}`);
  const start = Date.now();
  await sleep(WINDOW_MS);
  const recs = await sseRecords(page, "/api/dashboard");
  const openStreams = await stack.metricSum("ssebridge_open_streams", { route: "/api/dashboard" });
  const protocol = await page.evaluate(() => performance.getEntriesByType("navigation")[0].nextHopProtocol);
  const streamProtocols = await page.evaluate(() => performance.getEntriesByType("resource")
    .filter((e) => e.name.includes("/api/dashboard")).map((e) => e.nextHopProtocol));
  const perElement = Array.from({ length: STREAMS }, (_, i) =>
    recs.filter((r) => r.kind === "message" && r.url.endsWith(`&n=${i}`)).length);
  const live = perElement.filter((n) => n > 0).length;
  t.diagnostic(`${label}: protocol ${protocol}, ${live}/${STREAMS} elements got events within ${Date.now() - start} ms ` +
               `(events per element ${perElement.join(",")}), frontend open streams ${openStreams}`);
  await page.close();
  // The page is gone: its streams end at the frontend.
  await waitFor(async () => (await stack.metricSum("ssebridge_open_streams", { route: "/api/dashboard" })) === 0,
                { timeoutMs: 10000, what: "the page's streams to close at the frontend" });
  return { protocol, streamProtocols, perElement, live, openStreams };
}

describe("HTTP/2 edge", { skip: skip ? `skipped: ${skip}` : false }, () => {
  before(async () => {
    siteDir = makeTempDir("ssebridge-e2e-site-");
    fs.cpSync(path.join(buildDir(), "web"), siteDir, { recursive: true });
    fs.writeFileSync(path.join(siteDir, PAGE), streamsPage());
    stack = await new Stack({ services: ["monitoring"], staticRoot: siteDir }).start();
    edge = await startEdge(stack.port, stack.tmp, stack.logDir);
    browser = await launch({ extraArgs: ["--ignore-certificate-errors"] });
    await installProbe(browser);
  });
  after(async () => {
    if (browser) await browser.cleanup();
    if (edge) await edge.proc.stop();
    if (stack) await stack.stop();
    if (siteDir) removeTempDir(siteDir);
  });

  test(`6. ${STREAMS} sse-connect elements: 6 stall on HTTP/1.1, all live through the h2 edge`, async (t) => {
    t.diagnostic(`edge config: ${edge.config}`);
    const h1 = await measure(t, stack.base, "HTTP/1.1 direct");
    const h2 = await measure(t, edge.base, "HTTP/2 edge");

    assert.equal(h1.protocol, "http/1.1");
    assert.equal(h1.live, 6, `over HTTP/1.1 exactly 6 of ${STREAMS} streams live (per element: ${h1.perElement})`);
    assert.equal(h1.perElement.filter((n) => n === 0).length, STREAMS - 6, "the other 4 stalled without an event");
    assert.equal(h1.openStreams, 6, "the frontend held 6 streams for the HTTP/1.1 page");

    assert.equal(h2.protocol, "h2", "the edge served the page over HTTP/2");
    assert.ok(h2.streamProtocols.every((p) => p === "h2" || p === ""), `streams over h2: ${h2.streamProtocols}`);
    assert.equal(h2.live, STREAMS, `through the edge all ${STREAMS} streams live (per element: ${h2.perElement})`);
    // 250 ms interval: each stream delivered a steady flow, not one event.
    assert.ok(Math.min(...h2.perElement) >= 5, `every stream kept flowing: ${h2.perElement}`);
    assert.equal(h2.openStreams, STREAMS, "the frontend held all streams for the h2 page");
    assert.ok(h2.live - h1.live >= 4, "the edge makes the difference");
    assert.deepEqual(browser.problems, []);
  });
});
