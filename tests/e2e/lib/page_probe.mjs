// A script installed in every page before its own scripts run: it records
// the htmx SSE extension's events (open, message, error, close) with the
// URL of the stream they belong to, so tests can assert on what the browser
// actually received and in which order. Read with `page.evaluate(() =>
// window.__sse)`.
export function installProbe(context) {
  return context.addInitScript(() => {
    window.__sse = [];
    const started = performance.now();
    const streamOf = (elt) => {
      const s = elt && elt.closest ? elt.closest("[sse-connect]") : null;
      return s ? s.getAttribute("sse-connect") : "";
    };
    const record = (kind) => (e) => {
      const d = e.detail || {};
      const target = e.target;
      const textElt = target && target.querySelector ? target.querySelector(".text") : null;
      window.__sse.push({
        kind,
        url: streamOf(target),
        elt: target && target.id ? target.id : "",
        type: d.type || "",
        id: typeof d.lastEventId === "string" ? d.lastEventId : "",
        data: kind === "message" && typeof d.data === "string" ? d.data : "",
        text: kind === "message" ? (textElt || target).textContent : "",
        t: Math.round(performance.now() - started),
      });
    };
    document.addEventListener("htmx:sseOpen", record("open"), true);
    document.addEventListener("htmx:sseMessage", record("message"), true);
    document.addEventListener("htmx:sseError", record("error"), true);
    document.addEventListener("htmx:sseClose", record("close"), true);
  });
}

export function sseRecords(page, urlPart = "") {
  return page.evaluate((u) => window.__sse.filter((r) => r.url.includes(u)), urlPart);
}
