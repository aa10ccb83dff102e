// sse-bridge demo site: the little glue htmx does not do by itself.
// Everything here listens to htmx's events; no inline handlers in the pages.
(function () {
  "use strict";

  var body = document.body;

  // ------------------------------------------------ connection indicator
  // The pill #conn in the top bar follows the page's main stream: the
  // sse-connect element that carries data-status="label".
  var pill = document.getElementById("conn");
  function setConn(state, text) {
    if (!pill) return;
    pill.dataset.state = state;
    pill.textContent = text;
  }
  function mainStream(elt) {
    return elt && elt.closest && elt.closest("[data-status]");
  }
  body.addEventListener("htmx:sseOpen", function (e) {
    var s = mainStream(e.target);
    if (s) setConn("live", "Live \u00b7 " + s.dataset.status);
  });
  body.addEventListener("htmx:sseError", function (e) {
    var s = mainStream(e.target);
    if (s && s.isConnected) setConn("reconnecting", "Reconnecting\u2026");
  });
  body.addEventListener("htmx:sseClose", function (e) {
    var s = mainStream(e.target);
    if (!s || (e.detail && e.detail.type === "nodeReplaced")) return;
    if (e.detail && e.detail.type === "message") {
      setConn("done", "Finished \u00b7 " + s.dataset.status);
    } else {
      setConn("offline", "Closed");
    }
  });
  window.addEventListener("offline", function () { setConn("offline", "Offline"); });

  // Replaces a stream element with a fresh copy (same id and attributes,
  // `inner` as its content) that connects to `url`. htmx's swap cleans the
  // old element up (the extension closes its EventSource) and processes the
  // new one (which opens the new EventSource).
  function restream(elt, url, inner) {
    var fresh = elt.cloneNode(false);
    fresh.setAttribute("sse-connect", url);
    fresh.innerHTML = inner;
    setConn("", "Connecting\u2026");
    htmx.swap(elt, fresh.outerHTML, { swapStyle: "outerHTML" });
  }

  // ------------------------------------------------------- keep scrolled
  // A scroll container with data-follow stays pinned to its newest item
  // (its bottom; or its top with data-follow="top").
  function follow(elt) {
    var box = elt && elt.closest && elt.closest("[data-follow]");
    if (!box) return;
    if (box.dataset.follow === "top") box.scrollTop = 0;
    else box.scrollTop = box.scrollHeight;
  }
  body.addEventListener("htmx:sseMessage", function (e) { follow(e.target); });
  body.addEventListener("htmx:afterSettle", function (e) { follow(e.target); });

  // --------------------------------------------------- forms and errors
  // After a successful hx-post, a form with data-reset clears that field.
  body.addEventListener("htmx:afterRequest", function (e) {
    var form = e.target;
    if (!e.detail.successful || !form.dataset || !form.dataset.reset) return;
    var field = form.querySelector('[name="' + form.dataset.reset + '"]');
    if (field) { field.value = ""; field.focus(); }
  });
  var toasts = document.createElement("div");
  toasts.className = "toasts";
  toasts.setAttribute("role", "status");
  body.appendChild(toasts);
  function toast(text) {
    var t = document.createElement("div");
    t.className = "toast bad";
    t.textContent = text;
    toasts.appendChild(t);
    setTimeout(function () { t.remove(); }, 6000);
  }
  body.addEventListener("htmx:responseError", function (e) {
    var xhr = e.detail.xhr;
    toast("Request failed (" + xhr.status + "): " +
          (xhr.responseText || xhr.statusText).trim().slice(0, 200));
  });
  body.addEventListener("htmx:sendError", function () {
    toast("The server cannot be reached.");
  });

  // ------------------------------------------------------------ identity
  // The chat name lives in localStorage. Who is signed in (the demo's
  // development login) is known only to the server: its token cookie is
  // HttpOnly, so the page asks GET /auth/dev-login.
  var NAME_RE = /^[A-Za-z0-9_.-]{1,32}$/;
  function whoAmI() {
    return fetch("/auth/dev-login", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .catch(function () { return null; });
  }
  function storedName(fallback) {
    var n = "";
    try { n = localStorage.getItem("ssebridge.user") || ""; } catch (err) { /* private mode */ }
    return NAME_RE.test(n) ? n : fallback;
  }
  function saveName(n) {
    try { localStorage.setItem("ssebridge.user", n); } catch (err) { /* ignore */ }
  }

  // ---------------------------------------------------------------- chat
  var chat = document.getElementById("chat-page");
  if (chat) {
    var user = document.getElementById("user");
    var room = document.getElementById("room");
    user.value = storedName("guest");
    user.addEventListener("change", function () {
      if (NAME_RE.test(user.value)) saveName(user.value);
      else { toast("Names: letters, digits, . _ - (up to 32)."); user.value = storedName("guest"); }
    });
    room.addEventListener("change", function () {
      var feed = document.getElementById("room-stream");
      document.getElementById("room-name").textContent = "#" + room.value;
      restream(feed, "/api/chat_stream?room=" + encodeURIComponent(room.value),
               document.getElementById("room-feed-template").innerHTML);
    });
  }

  // ------------------------------------------------------- notifications
  var notif = document.getElementById("notif-page");
  if (notif) {
    var unread = 0;
    var badges = document.querySelectorAll("[data-unread]");
    var setUnread = function (n) {
      unread = n;
      badges.forEach(function (b) { b.textContent = n > 99 ? "99+" : String(n); b.dataset.count = String(n); });
      document.title = (n ? "(" + n + ") " : "") + "Notifications \u00b7 sse-bridge";
    };
    body.addEventListener("htmx:sseMessage", function (e) {
      if (e.detail.type !== "notification") return;
      var first = document.querySelector("#notif-list > li:not(.empty)");
      if (first) first.classList.add("unread");
      setUnread(unread + 1);
    });
    // `reset`: the service did not know our Last-Event-ID; what follows is
    // the whole inbox again, so start from an empty list.
    body.addEventListener("htmx:sseBeforeMessage", function (e) {
      if (e.detail.type !== "reset") return;
      document.querySelectorAll("#notif-list > li:not(.empty)").forEach(function (li) { li.remove(); });
      setUnread(0);
    });
    document.getElementById("mark-read").addEventListener("click", function () {
      document.querySelectorAll("#notif-list > li.unread").forEach(function (li) { li.classList.remove("unread"); });
      setUnread(0);
    });
    // Signed in: open the inbox stream. Not signed in: no stream at all
    // (it would only be refused with 401).
    var who = document.getElementById("who");
    var stream = document.getElementById("notif-stream");
    setConn("offline", "Not signed in");
    whoAmI().then(function (me) {
      document.body.dataset.auth = me ? "signed-in" : "anonymous";
      if (!me) { who.focus(); return; }
      who.value = me.sub;
      document.getElementById("sign-out").hidden = false;
      var empty = document.getElementById("notif-empty");
      if (empty) empty.textContent = "No notifications yet.";
      restream(stream, stream.dataset.sseUrl, stream.innerHTML);
    });
    document.getElementById("switch-user").addEventListener("submit", function (e) {
      if (!NAME_RE.test(who.value)) {
        e.preventDefault();
        toast("Names: letters, digits, . _ - (up to 32).");
      }
    });
  }

  // ------------------------------------------------------------ dashboard
  // The `metrics` JSON events never touch the DOM as HTML: the hidden
  // element with sse-swap="metrics" receives them, and the handler below
  // draws them into every svg.chart[data-series] and cancels the swap.
  var charts = document.querySelectorAll("svg.chart[data-series]");
  if (charts.length) {
    var MAX_POINTS = 90;
    var COLORS = ["#6366f1", "#06b6d4", "#f59e0b", "#10b981"];
    var NS = "http://www.w3.org/2000/svg";
    var samples = [];  // flattened metrics objects, oldest first

    var flatten = function (obj, prefix, out) {
      Object.keys(obj || {}).forEach(function (k) {
        var v = obj[k], key = prefix ? prefix + "." + k : k;
        if (typeof v === "number" && isFinite(v)) out[key] = v;
        else if (Array.isArray(v)) {
          // Lists of named objects are keyed by name (interfaces.lo.rx_rate).
          v.forEach(function (item, i) {
            if (item && typeof item === "object") flatten(item, key + "." + (item.name || i), out);
          });
        } else if (v && typeof v === "object") flatten(v, key, out);
      });
      return out;
    };
    var fmt = function (v, unit) {
      if (v === 0) return "0";
      if (unit === "%") return v.toFixed(v < 10 ? 1 : 0) + "%";
      if (unit === "B/s") {
        var units = ["B/s", "KiB/s", "MiB/s", "GiB/s"], i = 0;
        while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
        return (i ? v.toFixed(1) : Math.round(v)) + " " + units[i];
      }
      return String(Math.round(v * 100) / 100);
    };
    var node = function (name, attrs, text) {
      var n = document.createElementNS(NS, name);
      Object.keys(attrs).forEach(function (a) { n.setAttribute(a, attrs[a]); });
      if (text != null) n.textContent = text;
      return n;
    };
    var drawChart = function (svg) {
      var series = svg.dataset.series.split(",").map(function (s) {
        var kv = s.split(":");
        return { key: kv[0], label: kv[1] || kv[0] };
      });
      var unit = svg.dataset.unit || "";
      var W = svg.clientWidth || 800, H = svg.clientHeight || 220;
      var L = 86, R = 10, T = 10, B = 22;
      svg.setAttribute("viewBox", "0 0 " + W + " " + H);
      while (svg.firstChild) svg.removeChild(svg.firstChild);
      var max = Number(svg.dataset.max) || 0;
      if (!max) {
        samples.forEach(function (p) { series.forEach(function (s) { max = Math.max(max, p[s.key] || 0); }); });
        max = Math.max(max * 1.15, Number(svg.dataset.min) || 1);
      }
      var y = function (v) { return T + (H - T - B) * (1 - Math.min(v, max) / max); };
      var x = function (i) { return L + (W - L - R) * (i / (MAX_POINTS - 1)); };
      var grid = node("g", { "class": "grid" });
      [0, 0.25, 0.5, 0.75, 1].forEach(function (f) {
        grid.appendChild(node("line", { x1: L, x2: W - R, y1: y(max * f), y2: y(max * f) }));
        grid.appendChild(node("text", { x: L - 8, y: y(max * f) + 4, "text-anchor": "end" }, fmt(max * f, unit)));
      });
      grid.appendChild(node("text", { x: W - R, y: H - 4, "text-anchor": "end" }, "now"));
      grid.appendChild(node("text", { x: L, y: H - 4 }, "last " + MAX_POINTS + " samples"));
      svg.appendChild(grid);
      var offset = MAX_POINTS - samples.length;
      var legend = document.getElementById(svg.dataset.legend || "");
      if (legend) legend.textContent = "";
      series.forEach(function (s, k) {
        var color = COLORS[k % COLORS.length];
        var pts = [];
        samples.forEach(function (p, i) {
          if (typeof p[s.key] === "number") pts.push([x(i + offset), y(p[s.key])]);
        });
        if (pts.length > 1) {
          var line = pts.map(function (q) { return q[0].toFixed(1) + "," + q[1].toFixed(1); }).join(" ");
          svg.appendChild(node("path", { "class": "area", fill: color,
            d: "M" + pts[0][0].toFixed(1) + "," + y(0) + " L" + line.replace(/ /g, " L") +
               " L" + pts[pts.length - 1][0].toFixed(1) + "," + y(0) + " Z" }));
          svg.appendChild(node("polyline", { points: line, stroke: color }));
        }
        if (legend) {
          var last = samples[samples.length - 1];
          var item = document.createElement("span");
          var swatch = document.createElement("i");
          swatch.style.background = color;
          var value = document.createElement("b");
          value.textContent = last && typeof last[s.key] === "number" ? fmt(last[s.key], unit) : "\u2013";
          item.append(swatch, s.label + " ", value);
          legend.appendChild(item);
        }
      });
    };
    // Queried each time: changing the interval swaps the stream element (and
    // the charts inside it) for fresh copies.
    var drawAll = function () {
      document.querySelectorAll("svg.chart[data-series]").forEach(drawChart);
    };
    body.addEventListener("htmx:sseBeforeMessage", function (e) {
      if (e.detail.type !== "metrics") return;
      e.preventDefault();  // JSON, not HTML: do not swap it
      try { samples.push(flatten(JSON.parse(e.detail.data), "", {})); } catch (err) { return; }
      if (samples.length > MAX_POINTS) samples.shift();
      drawAll();
    });
    window.addEventListener("resize", drawAll);
    drawAll();

    var interval = document.getElementById("interval");
    interval.addEventListener("change", function () {
      var stream = document.getElementById("dash-stream");
      restream(stream, "/api/dashboard?interval_ms=" + encodeURIComponent(interval.value),
               stream.innerHTML);
    });
  }

  // --------------------------------------------------------------- quotes
  var quotesForm = document.getElementById("quotes-form");
  if (quotesForm) {
    var count = 0;
    body.addEventListener("htmx:sseMessage", function (e) {
      if (e.detail.type === "quote") document.getElementById("quote-count").textContent = String(++count);
    });
    body.addEventListener("htmx:sseClose", function (e) {
      if (e.target.id !== "quotes-stream" || !e.detail || e.detail.type !== "message") return;
      var end = document.createElement("p");
      end.className = "stream-end";
      end.textContent = "Stream complete: the service ended the call, the frontend sent \u201cdone\u201d, sse-close closed the EventSource.";
      e.target.appendChild(end);
    });
    quotesForm.addEventListener("submit", function (e) {
      e.preventDefault();
      var n = quotesForm.elements.n.value, ms = quotesForm.elements.interval_ms.value;
      count = 0;
      document.getElementById("quote-count").textContent = "0";
      var stream = document.getElementById("quotes-stream");
      restream(stream, "/api/quotes?n=" + encodeURIComponent(n) +
               "&interval_ms=" + encodeURIComponent(ms),
               '<p class="empty-note">Waiting for the first quote\u2026</p>');
    });
  }

  // ------------------------------------------------------------- overview
  // The backends' health, as the frontend's /readyz reports it.
  var ready = document.getElementById("readyz");
  if (ready) {
    var check = function () {
      fetch("/readyz", { cache: "no-store" }).then(function (r) {
        return r.text().then(function (t) {
          ready.className = "ready " + (r.ok ? "ok" : "bad");
          ready.textContent = r.ok ? "All backends ready" : t.trim();
          setConn(r.ok ? "live" : "offline", r.ok ? "Backends ready" : "Backends down");
        });
      }).catch(function () {
        ready.className = "ready bad";
        ready.textContent = "frontend unreachable";
        setConn("offline", "Offline");
      });
    };
    check();
    setInterval(check, 10000);
  }
})();
