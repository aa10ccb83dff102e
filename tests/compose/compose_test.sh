#!/usr/bin/env bash
# make compose-test: the compose stack (docker/docker-compose.yml) built and
# run for real, driven from the host through the edge's published TLS port
# (bound to 127.0.0.1). Every wait has a deadline; the stack is taken down
# (down -v) on every exit, and a failure prints the containers' logs.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
engine="$repo/docker/engine.sh"

export COMPOSE_PROJECT_NAME="${COMPOSE_PROJECT_NAME:-ssebridge-ct$$}"
export EDGE_HTTPS_PORT="${EDGE_HTTPS_PORT:-18443}"
export EDGE_HTTP_PORT="${EDGE_HTTP_PORT:-18080}"
P="$COMPOSE_PROJECT_NAME"
BASE="https://127.0.0.1:$EDGE_HTTPS_PORT"
UP_DEADLINE="${UP_DEADLINE:-1500}"     # s: build (cold: the C++ compile) + start
work="$(mktemp -d)"
pids=()
passed=0
t_start=$(date +%s)

eval "$("$engine" env)"   # ENGINE, CONTAINERS_CONF (only if needed), COMPOSE
[ -n "$CONTAINERS_CONF" ] && export CONTAINERS_CONF || unset CONTAINERS_CONF
compose() { "$engine" compose -p "$P" "$@"; }

containers() { $ENGINE ps -a --filter "label=com.docker.compose.project=$P" --format '{{.Names}}'; }

cleanup() {
  local rc=$?
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ "$rc" != 0 ]; then
    echo "compose-test: FAILED (rc=$rc); containers and logs:" >&2
    $ENGINE ps -a --filter "label=com.docker.compose.project=$P" >&2 || true
    for c in $(containers); do
      st=$($ENGINE inspect -f '{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}' "$c" 2>/dev/null || true)
      case "$st" in "running healthy"|"running ") [ -n "${ALL_LOGS:-}" ] || continue ;; esac
      echo "----- $c ($st): last 60 log lines" >&2
      $ENGINE logs --tail 60 "$c" >&2 2>&1 || true
    done
  fi
  compose down -v -t 1 >/dev/null 2>&1 || true
  left=$(containers || true)
  if [ -n "$left" ]; then
    echo "compose-test: removing leftovers: $left" >&2
    $ENGINE rm -f $left >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
  echo "compose-test: $passed checks passed, $(( $(date +%s) - t_start ))s, rc=$rc" >&2
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() { echo "compose-test: FAIL: $*" >&2; exit 1; }
ok() { passed=$((passed + 1)); echo "compose-test: ok $passed: $*"; }
# wait_for SECONDS DESCRIPTION COMMAND...: polls COMMAND until it succeeds.
wait_for() {
  local secs=$1 what=$2; shift 2
  local end=$(( $(date +%s) + secs ))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$end" ] || fail "timed out after ${secs}s: $what"
    sleep 0.5
  done
}
c() { curl -sS -k --http2 --max-time "${MAXT:-10}" "$@"; }
stream() {  # stream NAME URL [curl args]: background SSE reader into $work/NAME
  local name=$1 url=$2; shift 2
  curl -sS -k --http2 -N --max-time 120 -D "$work/$name.h" "$@" "$BASE$url" \
    >"$work/$name" 2>"$work/$name.err" &
  pids+=($!); eval "pid_$name=$!"
}
has() { grep -q -- "$2" "$work/$1"; }

# --- up -------------------------------------------------------------------
echo "compose-test: $ENGINE, project $P, edge $BASE"
"$engine" images >"$work/build.log" 2>&1 || { tail -50 "$work/build.log" >&2; fail "make images"; }
ok "images built ($(( $(date +%s) - t_start ))s)"
compose up -d --build >"$work/up.log" 2>&1 || { tail -50 "$work/up.log" >&2; fail "up"; }
ready() { [ "$(c -o /dev/null -w '%{http_code}' "$BASE/readyz")" = 200 ]; }
wait_for 180 "edge + frontend ready (GET /readyz through the edge)" ready
ok "stack up, /readyz 200 through the edge ($(( $(date +%s) - t_start ))s)"

# --- HTTP/2 over TLS, the demo page, metrics --------------------------------
[ "$(c -o "$work/index" -w '%{http_version}' "$BASE/")" = 2 ] || fail "edge did not speak HTTP/2"
grep -qi '<html' "$work/index" || fail "demo page: no html"
[ "$(c -o "$work/chat.html" -w '%{http_code}' "$BASE/chat.html")" = 200 ] && has chat.html sse-connect \
  || fail "chat.html"
ok "HTTP/2 over TLS; demo pages served"
[ "$(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$EDGE_HTTP_PORT/x")" = 301 ] \
  || fail "plain http does not redirect"
ok "plain HTTP redirects to HTTPS"
# The edge proxies every path (location /), /metrics included.
c "$BASE/metrics" >"$work/metrics"; grep -q '^# TYPE ssebridge' "$work/metrics" || fail "/metrics"
ok "/metrics through the edge (Prometheus text)"

# --- chat: word by word, then done (the page's sse-close) -------------------
MAXT=15 c -X POST -H "Origin: $BASE" -d 'user=t&room=lobby&message=hi' "$BASE/api/chat" >"$work/form"
grep -q 'sse-close' "$work/form" || fail "chat form fragment without sse-close: $(head -c 300 "$work/form")"
MAXT=30 c -N "$BASE/api/chat_send?room=ct&message=hi" >"$work/send"
grep -q 'Bot is thinking' "$work/send" && grep -q 'Hello!' "$work/send" \
  && grep -q '^event: done' "$work/send" || fail "chat_send: $(head -c 600 "$work/send")"
[ "$(grep -c '^event: update' "$work/send")" -ge 3 ] || fail "chat reply not word by word"
ok "chat stream word by word ending with done ($(grep -c '^event: update' "$work/send") updates)"

# --- dashboard ----------------------------------------------------------------
MAXT=8 c -N "$BASE/api/dashboard" >"$work/dash" || true
grep -q '^event: cpu' "$work/dash" && grep -q '^event: metrics' "$work/dash" || fail "dashboard: $(head -c 300 "$work/dash")"
ok "dashboard events (cpu, metrics)"

# --- notifications: dev login, then resume after a dropped connection -------
jar="$work/jar"
c -c "$jar" -o /dev/null -H "Origin: $BASE" -d 'name=ct' "$BASE/auth/dev-login"
c -b "$jar" "$BASE/auth/dev-login" | grep -q '"ct"' || fail "dev login"
[ "$(c -o /dev/null -w '%{http_code}' "$BASE/api/notifications")" = 401 ] || fail "notifications without token not 401"
stream n1 /api/notifications -b "$jar"
wait_for 30 "two notifications" bash -c "[ \$(grep -c '^id:' '$work/n1') -ge 2 ]"
kill "$pid_n1" 2>/dev/null || true
last=$(grep '^id:' "$work/n1" | tail -1 | cut -d' ' -f2)
stream n2 /api/notifications -b "$jar" -H "Last-Event-ID: $last"
wait_for 30 "resumed notifications" bash -c "grep -q '^id:' '$work/n2'"
has n2 '^event: reset' && fail "resume got a reset after id $last"
first=$(grep '^id:' "$work/n2" | head -1 | cut -d' ' -f2)
[ "$first" != "$last" ] || fail "resume repeated id $last"
kill "$pid_n2" 2>/dev/null || true
ok "notifications resume after a dropped connection (last $last, next $first)"

# --- scale-out: two frontends behind the edge, room shared via redis --------
mapfile -t fronts < <(containers | grep -E '[_-]frontend[_-][0-9]+$' | sort)
[ "${#fronts[@]}" = 2 ] || fail "expected 2 frontend replicas, got: ${fronts[*]}"
mapfile -t bots < <(containers | grep -E '[_-]chat_bot[_-][0-9]+$')
[ "${#bots[@]}" = 2 ] || fail "expected 2 chat_bot replicas, got: ${bots[*]}"
for i in 1 2 3 4; do stream "r$i" /api/chat_stream?room=fo; done
for i in 1 2 3 4; do wait_for 20 "room stream r$i open" grep -q 'HTTP/2 200' "$work/r$i.h"; done
ok "4 room streams open through the edge; replicas: ${fronts[*]}"
c -X POST -H "Origin: $BASE" -d 'user=a&message=before-failover' "$BASE/api/chat_post?room=fo" >/dev/null
for i in 1 2 3 4; do wait_for 15 "r$i got the post" has "r$i" before-failover; done
ok "a post reaches all 4 subscribers (over both chat_bot replicas via redis)"
$ENGINE stop -t 2 "${fronts[0]}" >/dev/null
n_ended() { local n=0 i p; for i in 1 2 3 4; do eval "p=\$pid_r$i"; kill -0 "$p" 2>/dev/null || n=$((n+1)); done; echo $n; }
end=$(( $(date +%s) + 20 )); until [ "$(n_ended)" != 0 ] || [ "$(date +%s)" -ge "$end" ]; do sleep 0.2; done
# streams on the stopped replica end together: let the count settle (2 s)
settle=$(( $(date +%s) + 2 )); while [ "$(date +%s)" -lt "$settle" ]; do sleep 0.2; done
ended=(); alive=()
for i in 1 2 3 4; do eval "p=\$pid_r$i"; if kill -0 "$p" 2>/dev/null; then alive+=("$i"); else ended+=("$i"); fi; done
[ "${#ended[@]}" -ge 1 ] || fail "no stream ended when ${fronts[0]} stopped (edge used one replica only?)"
[ "${#alive[@]}" -ge 1 ] || fail "every stream ended: the edge did not spread them over both replicas"
ok "stopping ${fronts[0]} ended streams ${ended[*]}, kept ${alive[*]} (both replicas served streams)"
# The browser reconnects (EventSource retry) through the edge to the survivor.
for i in "${ended[@]}"; do stream "re$i" /api/chat_stream?room=fo; done
for i in "${ended[@]}"; do wait_for 20 "reconnect re$i" grep -q 'HTTP/2 200' "$work/re$i.h"; done
c -X POST -H "Origin: $BASE" -d 'user=a&message=after-failover' "$BASE/api/chat_post?room=fo" >/dev/null
for i in "${ended[@]}"; do wait_for 15 "re$i resumed" has "re$i" after-failover; done
for i in "${alive[@]}"; do wait_for 15 "r$i still live" has "r$i" after-failover; done
ok "reconnected through the edge to ${fronts[1]} and resumed; room still shared"
$ENGINE start "${fronts[0]}" >/dev/null

# --- down -------------------------------------------------------------------
for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
pids=()
compose down -v -t 1 >/dev/null 2>&1
[ -z "$(containers)" ] || fail "containers left after down: $(containers)"
ok "down -v: nothing left running"
echo "compose-test: PASS ($passed checks, $(( $(date +%s) - t_start ))s)"
