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
failure=""   # what fail() was given, repeated after the logs
t_start=$(date +%s)

eval "$("$engine" env)"   # ENGINE, CONTAINERS_CONF (only if needed), COMPOSE
[ -n "$CONTAINERS_CONF" ] && export CONTAINERS_CONF || unset CONTAINERS_CONF
compose() { "$engine" compose -p "$P" "$@"; }

containers() { $ENGINE ps -a --filter "label=com.docker.compose.project=$P" --format '{{.Names}}'; }
# healthy CONTAINER: the image's (or compose's) health check passes now.
# podman without systemd never runs health checks on its own (no timers), so
# run it here; docker runs them itself.
healthy() {
  if [ "$ENGINE" = podman ]; then $ENGINE healthcheck run "$1" >/dev/null 2>&1
  else [ "$($ENGINE inspect -f '{{.State.Health.Status}}' "$1" 2>/dev/null)" = healthy ]; fi
}
running() { [ "$($ENGINE inspect -f '{{.State.Status}}' "$1" 2>/dev/null)" = running ]; }
show_logs() {  # show_logs CONTAINER...
  local c
  for c in "$@"; do
    echo "----- $c ($($ENGINE inspect -f '{{.State.Status}} exit={{.State.ExitCode}}' "$c" 2>/dev/null)): last 60 log lines" >&2
    $ENGINE logs --tail 60 "$c" 2>&1 | sed 's/^/  /' >&2 || true
  done
}

cleanup() {
  local rc=$?
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ "$rc" != 0 ]; then
    echo "compose-test: FAILED (rc=$rc); containers:" >&2
    $ENGINE ps -a --filter "label=com.docker.compose.project=$P" >&2 || true
    # Logs of the failing containers: not running, or failing their health
    # check; when every container looks healthy (a functional failure), or
    # with ALL_LOGS=1, the logs of every container.
    bad=()
    for c in $(containers); do running "$c" && healthy "$c" || bad+=("$c"); done
    if [ -n "${ALL_LOGS:-}" ] || [ "${#bad[@]}" = 0 ]; then show_logs $(containers)
    else show_logs "${bad[@]}"; fi
    # Every container's whole log, kept with the client-side files: a CI
    # run shows only the tail of what this prints.
    for c in $(containers); do
      $ENGINE logs "$c" >"$work/log-$c.txt" 2>&1 || true
    done
  fi
  compose down -v -t 1 >/dev/null 2>&1 || true
  left=$(containers || true)
  if [ -n "$left" ]; then
    echo "compose-test: removing leftovers: $left" >&2
    $ENGINE rm -f $left >/dev/null 2>&1 || true
  fi
  # podman-compose 1.0.3's down keeps the network (and a volume whose
  # container was restarting): remove what carries the project's label.
  for n in $($ENGINE network ls -q --filter "label=com.docker.compose.project=$P" 2>/dev/null); do
    $ENGINE network rm "$n" >/dev/null 2>&1 || true
  done
  for v in $($ENGINE volume ls -q --filter "label=com.docker.compose.project=$P" 2>/dev/null); do
    $ENGINE volume rm -f "$v" >/dev/null 2>&1 || true
  done
  if [ "$rc" != 0 ]; then
    keep="/tmp/compose-test-$P"; rm -rf "$keep"; mv "$work" "$keep" 2>/dev/null \
      && echo "compose-test: client-side files (SSE bodies, headers, build and up logs): $keep" >&2
  fi
  rm -rf "$work"
  # Again last, after the logs: what failed.
  [ -n "$failure" ] && echo "compose-test: FAIL: $failure" >&2
  echo "compose-test: $passed checks passed, $(( $(date +%s) - t_start ))s, rc=$rc" >&2
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() { failure="$*"; echo "compose-test: FAIL: $*" >&2; exit 1; }
ok() { passed=$((passed + 1)); echo "compose-test: ok $passed: $* [$(( $(date +%s) - t_start ))s]"; }
# wait_for SECONDS DESCRIPTION COMMAND...: polls COMMAND until it succeeds.
wait_for() {
  local secs=$1 what=$2; shift 2
  local end=$(( $(date +%s) + secs ))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$end" ] || fail "timed out after ${secs}s: $what"
    sleep 0.3
  done
}
c() { curl -sS -k --http2 --max-time "${MAXT:-10}" "$@"; }
stream() {  # stream NAME URL [curl args]: background SSE reader into $work/NAME
  local name=$1 url=$2; shift 2
  curl -sS -k --http2 -N --max-time 300 -D "$work/$name.h" "$@" "$BASE$url" \
    >"$work/$name" 2>"$work/$name.err" &
  pids+=($!); eval "pid_$name=$!"
}
alive() { local p; eval "p=\$pid_$1"; kill -0 "$p" 2>/dev/null; }
stop_stream() { local p; eval "p=\$pid_$1"; kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; }
has() { grep -q -- "$2" "$work/$1"; }
ids() { grep '^id:' "$work/$1" | sed 's/^id: *//'; }
nids() { grep -c '^id:' "$work/$1" || true; }
# seen_after NAME ID: stream NAME has received ID and the event after it.
seen_after() { [ "$(ids "$1" | grep -xF -A1 -- "$2" | wc -l)" = 2 ]; }
# open_on CONTAINER ROUTE: that frontend replica's open streams on ROUTE
# (its own /metrics, asked inside the container).
open_on() {
  $ENGINE exec "$1" curl -fsS --max-time 5 http://127.0.0.1:8080/metrics 2>/dev/null \
    | awk -v k="ssebridge_open_streams{route=\"$2\"}" '$1 == k { print $2; f = 1 } END { if (!f) print -1 }'
}
redis_cli() {
  $ENGINE exec "${redis_c}" sh -c 'REDISCLI_AUTH="$(cat /run/secrets/redis_password)" redis-cli "$@"' sh "$@"
}

# --- build and up --------------------------------------------------------------
echo "compose-test: $ENGINE${CONTAINERS_CONF:+ (CONTAINERS_CONF=$CONTAINERS_CONF)}, project $P, edge $BASE"
"$engine" images >"$work/build.log" 2>&1 || { tail -50 "$work/build.log" >&2; fail "make images"; }
grep -E '^engine: .* built in|^engine: engine' "$work/build.log" | sed 's/^/compose-test:   /' || true
ok "images built ($(grep -o 'all images built in [0-9]*s' "$work/build.log"))"
compose up -d --build >"$work/up.log" 2>&1 || { tail -50 "$work/up.log" >&2; fail "up"; }
ok "compose up -d --build"

mapfile -t all < <(containers | sort)
[ "${#all[@]}" = 9 ] || fail "expected 9 containers, got ${#all[@]}: ${all[*]}"
mapfile -t fronts < <(printf '%s\n' "${all[@]}" | grep -E '[_-]frontend[_-][0-9]+$')
mapfile -t bots < <(printf '%s\n' "${all[@]}" | grep -E '[_-]chat_bot[_-][0-9]+$')
redis_c=$(printf '%s\n' "${all[@]}" | grep -E '[_-]redis[_-][0-9]+$')
[ "${#fronts[@]}" = 2 ] || fail "expected 2 frontend replicas, got: ${fronts[*]}"
[ "${#bots[@]}" = 2 ] || fail "expected 2 chat_bot replicas, got: ${bots[*]}"
# Health: every container's own health check (the images' HEALTHCHECK,
# compose's for redis), then /readyz through the edge.
for ctr in "${all[@]}"; do
  wait_for 180 "$ctr healthy" healthy "$ctr"
done
ok "all 9 containers healthy: ${all[*]}"
ready() { [ "$(c -o /dev/null -w '%{http_code}' "$BASE/readyz")" = 200 ]; }
wait_for 120 "GET /readyz through the edge answers 200" ready
for f in "${fronts[@]}"; do
  wait_for 60 "$f /readyz" $ENGINE exec "$f" curl -fsS -o /dev/null http://127.0.0.1:8080/readyz
done
ok "/readyz 200 through the edge and on both frontend replicas"

# --- HTTP/2 over TLS, the demo pages, metrics ---------------------------------
[ "$(c -o "$work/index" -w '%{http_version}' "$BASE/")" = 2 ] || fail "edge did not speak HTTP/2"
grep -qi '<html' "$work/index" || fail "demo page: no html"
for page in chat.html notifications.html dashboard.html quotes.html; do
  [ "$(c -o "$work/$page" -w '%{http_code}' "$BASE/$page")" = 200 ] && has "$page" 'hx-ext="sse"' \
    || fail "$page: $(head -c 300 "$work/$page")"
done
for js in vendor/htmx.min.js vendor/sse.js assets/app.js; do
  [ "$(c -o /dev/null -w '%{http_code} %{size_download}' "$BASE/$js" | cut -d' ' -f1)" = 200 ] || fail "$js"
done
ok "HTTP/2 over TLS; demo pages and htmx + its SSE extension served"
[ "$(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$EDGE_HTTP_PORT/x")" = 301 ] \
  || fail "plain http does not redirect"
ok "plain HTTP redirects to HTTPS"
# The compose file's edge proxies every path (location /): /metrics is
# reachable through it, as on each replica.
c "$BASE/metrics" >"$work/metrics"; grep -q '^# TYPE ssebridge_open_streams gauge' "$work/metrics" \
  || fail "/metrics through the edge: $(head -c 300 "$work/metrics")"
ok "/metrics through the edge (Prometheus text)"

# --- chat: word by word, then done (the page's sse-close) -----------------------
MAXT=15 c -X POST -H "Origin: $BASE" -d 'user=t&room=lobby&message=hi' "$BASE/api/chat" >"$work/form"
grep -q 'sse-close="done"' "$work/form" || fail "chat form fragment without sse-close: $(head -c 300 "$work/form")"
grep -q 'sse-connect="/api/chat_send' "$work/form" || fail "chat form fragment without sse-connect"
MAXT=30 c -N "$BASE/api/chat_send?room=ct&message=hi" >"$work/send"
grep -q 'Bot is thinking' "$work/send" && grep -q '^event: done' "$work/send" \
  || fail "chat_send: $(head -c 600 "$work/send")"
[ "$(grep -c '^event: update' "$work/send")" -ge 3 ] || fail "chat reply not word by word"
[ "$(tail -n 3 "$work/send" | grep -c '^event: done')" = 1 ] || fail "done is not the last event"
ok "chat stream word by word ($(grep -c '^event: update' "$work/send") updates), then done"

# --- dashboard ---------------------------------------------------------------
stream dash /api/dashboard
dash_ok() { has dash '^event: cpu' && has dash '^event: metrics'; }
wait_for 30 "dashboard cpu and metrics events" dash_ok
stop_stream dash
ok "dashboard events (cpu, metrics)"

# --- notifications: dev login, then resume after a dropped connection -------
jar="$work/jar"
# Signed in as "demo": notifications --demo_interval=3s adds one for that
# user every 3 s (into Redis Streams).
c -c "$jar" -o /dev/null -H "Origin: $BASE" -d 'name=demo' "$BASE/auth/dev-login"
c -b "$jar" "$BASE/auth/dev-login" | grep -q '"demo"' || fail "dev login"
[ "$(c -o /dev/null -w '%{http_code}' "$BASE/api/notifications")" = 401 ] || fail "notifications without token not 401"
stream n1 /api/notifications -b "$jar"
at_least_ids() { [ "$(nids "$1")" -ge "$2" ]; }
wait_for 30 "two notifications" at_least_ids n1 2
stop_stream n1
last=$(ids n1 | tail -1)
stream n2 /api/notifications -b "$jar" -H "Last-Event-ID: $last"
wait_for 30 "resumed notifications" at_least_ids n2 1
has n2 '^event: reset' && fail "resume got a reset after id $last"
first=$(ids n2 | head -1)
[ "$first" != "$last" ] || fail "resume repeated id $last"
stop_stream n2
ok "notifications resume after a dropped connection (last id $last, next $first)"

# --- scale-out -------------------------------------------------------------------
# Chat room streams through the edge until both frontend replicas hold some.
spread() {  # spread ROUTE: both replicas hold streams of ROUTE
  local a b; a=$(open_on "${fronts[0]}" "$1"); b=$(open_on "${fronts[1]}" "$1")
  [ "$a" -ge 1 ] && [ "$b" -ge 1 ]
}
total_open() { echo $(( $(open_on "${fronts[0]}" "$1") + $(open_on "${fronts[1]}" "$1") )); }
at_least_open() { [ "$(total_open "$1")" -ge "$2" ]; }
nr=0
while [ "$nr" -lt 6 ] || ! spread /api/chat_stream; do
  [ "$nr" -lt 16 ] || fail "16 room streams all on one frontend replica: the edge does not spread"
  nr=$((nr + 1)); stream "r$nr" "/api/chat_stream?room=fo"
  wait_for 20 "room stream r$nr open" at_least_open /api/chat_stream "$nr"
done
ok "$nr room streams through the edge on both replicas (${fronts[0]}: $(open_on "${fronts[0]}" /api/chat_stream), ${fronts[1]}: $(open_on "${fronts[1]}" /api/chat_stream))"
# Both chat_bot replicas subscribe the room in Redis, and one post (served
# by one chat_bot) reaches every stream.
numsub() { redis_cli PUBSUB NUMSUB ssebridge:chat:fo | tail -1; }
numsub_is() { [ "$(numsub)" = "$1" ]; }
wait_for 20 "both chat_bot replicas subscribed to the room (PUBSUB NUMSUB = 2)" numsub_is 2
MAXT=20 c -X POST -H "Origin: $BASE" -d 'user=a&message=before-failover' "$BASE/api/chat_post?room=fo" >"$work/post1" || true
grep -q sent "$work/post1" || fail "chat_post: $(head -c 300 "$work/post1")"
for i in $(seq 1 "$nr"); do wait_for 15 "r$i got the post" has "r$i" before-failover; done
ok "one post reaches all $nr streams; the room spans both chat_bot replicas (Redis PUBSUB NUMSUB 2)"

# Notifications streams of one user on both replicas (same history).
nn=0
while [ "$nn" -lt 2 ] || ! spread /api/notifications; do
  [ "$nn" -lt 12 ] || fail "12 notifications streams all on one frontend replica"
  nn=$((nn + 1)); stream "m$nn" /api/notifications -b "$jar"
  wait_for 30 "notifications stream m$nn got an event" at_least_ids "m$nn" 1
done
ok "$nn notifications streams on both replicas"

# Stop one frontend replica mid-stream: exactly its streams end.
victim=${fronts[0]} survivor=${fronts[1]}
lost_r=$(open_on "$victim" /api/chat_stream); lost_m=$(open_on "$victim" /api/notifications)
ended_count() { local n=0 s; for s in "$@"; do alive "$s" || n=$((n + 1)); done; echo "$n"; }
rs=(); for i in $(seq 1 "$nr"); do rs+=("r$i"); done
ms=(); for i in $(seq 1 "$nn"); do ms+=("m$i"); done
$ENGINE stop -t 2 "$victim" >/dev/null 2>>"$work/engine.err"
lost_all() { [ "$(ended_count "${rs[@]}")" = "$lost_r" ] && [ "$(ended_count "${ms[@]}")" = "$lost_m" ]; }
wait_for 30 "$lost_r room streams and $lost_m notifications streams end" lost_all
ok "stopped $victim mid-stream: its $lost_r room and $lost_m notifications streams ended, the rest stay open on $survivor"

# The browser reconnects (EventSource, after the retry hint) through the edge,
# which now reaches only the survivor; notifications resume from Last-Event-ID.
witness=""; for s in "${ms[@]}"; do alive "$s" && { witness=$s; break; }; done
[ -n "$witness" ] || fail "no notifications stream survived"
for s in "${ms[@]}"; do
  alive "$s" && continue
  L=$(ids "$s" | tail -1)
  stream "re$s" /api/notifications -b "$jar" -H "Last-Event-ID: $L"
  wait_for 30 "re$s resumed" at_least_ids "re$s" 1
  has "re$s" '^event: reset' && fail "re$s: reset after $L"
  # The next id after L, as the witness on the survivor saw it.
  wait_for 30 "witness $witness past $L" seen_after "$witness" "$L"
  want=$(ids "$witness" | grep -xF -A1 -- "$L" | tail -1)
  got=$(ids "re$s" | head -1)
  [ "$got" = "$want" ] || fail "re$s resumed at $got after $L; the survivor's stream says $want"
  ok "notifications $s: reconnected through the edge after id $L, resumed at $got (no gap, no repeat)"
done
for s in "${rs[@]}"; do alive "$s" || stream "re$s" "/api/chat_stream?room=fo"; done
open_is() { [ "$(open_on "$1" "$2")" = "$3" ]; }
wait_for 30 "every room stream open on $survivor" open_is "$survivor" /api/chat_stream "$nr"
MAXT=20 c -X POST -H "Origin: $BASE" -d 'user=a&message=after-failover' "$BASE/api/chat_post?room=fo" >"$work/post2" || true
grep -q sent "$work/post2" || fail "chat_post after failover: $(head -c 300 "$work/post2")"
for s in "${rs[@]}"; do
  if alive "$s"; then wait_for 15 "$s still live" has "$s" after-failover
  else wait_for 15 "re$s got the post" has "re$s" after-failover; fi
done
ok "room streams reconnected through the edge to $survivor; the next post reaches all $nr"

# --- down ----------------------------------------------------------------------
for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
pids=()
compose down -v -t 1 >/dev/null 2>&1
for n in $($ENGINE network ls -q --filter "label=com.docker.compose.project=$P" 2>/dev/null); do
  $ENGINE network rm "$n" >/dev/null 2>&1 || true
done
[ -z "$(containers)" ] || fail "containers left after down: $(containers)"
[ -z "$($ENGINE volume ls -q --filter "label=com.docker.compose.project=$P")" ] || fail "volumes left after down -v"
ok "down -v: no container, volume or network of $P left"
echo "compose-test: PASS ($passed checks, $(( $(date +%s) - t_start ))s)"
