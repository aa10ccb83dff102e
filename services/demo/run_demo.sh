#!/usr/bin/env bash
# Runs the demo stack on 127.0.0.1: the four action services and the
# frontend (services/demo/demo.yaml), serving the site built from
# frontend/web. `make demo` builds everything first and then runs this.
#
#   PORT=8080        the frontend's port (passed as --port)
#   BUILD_DIR=build  where the binaries and the built site (web/) are
#   LOG_DIR=...      where each process logs (default: a new /tmp directory)
#   REDIS_PORT=6390  a local redis-server (Debian's) for the notifications
#                    history: appendonly, data and a generated password file
#                    in $BUILD_DIR/demo-redis, so notifications survive demo
#                    restarts. REDIS_PORT=0 (or no redis-server): in memory.
#
# Waits until every process listens, prints the URL, and stops everything on
# Ctrl-C / SIGTERM (or when any process dies).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD_DIR=${BUILD_DIR:-build}
[[ $BUILD_DIR == /* ]] || BUILD_DIR=$ROOT/$BUILD_DIR
PORT=${PORT:-8080}
WEB_DIR=${WEB_DIR:-$BUILD_DIR/web}
PYTHON=${PYTHON:-/usr/bin/python3}
CONFIG=$ROOT/services/demo/demo.yaml

say() { printf 'demo: %s\n' "$*"; }
fail() { printf 'demo: %s\n' "$*" >&2; }

# name | port | command...
NAMES=(chat_bot notifications monitoring python_quotes)
declare -A PORTS=([chat_bot]=50051 [notifications]=50052 [monitoring]=50053
                  [python_quotes]=50054)
declare -A BINS=([chat_bot]=$BUILD_DIR/services/chat_bot/chat_bot
                 [notifications]=$BUILD_DIR/services/notifications/notifications
                 [monitoring]=$BUILD_DIR/services/monitoring/monitoring)
FRONTEND=$BUILD_DIR/frontend/ssebridge-frontend
KEYGEN=$BUILD_DIR/frontend/auth/ssebridge-keygen
# The development login's key pair, made once and kept, so that a browser's
# token cookie stays valid across demo restarts.
KEY_DIR=${KEY_DIR:-$BUILD_DIR/demo-keys}

REDIS_PORT=${REDIS_PORT:-6390}
REDIS_DIR=${REDIS_DIR:-$BUILD_DIR/demo-redis}
REDIS_SERVER=$(command -v redis-server || echo /usr/bin/redis-server)
[[ -x $REDIS_SERVER ]] || REDIS_PORT=0

command_for() {
  local name=$1 listen=127.0.0.1:${PORTS[$1]}
  case $name in
    notifications)
      if ((REDIS_PORT)); then
        echo "${BINS[$name]} --listen=$listen --demo_interval=3s --redis=127.0.0.1:$REDIS_PORT --redis_password_file=$REDIS_DIR/password"
      else
        echo "${BINS[$name]} --listen=$listen --demo_interval=3s"
      fi ;;
    python_quotes) echo "$PYTHON $ROOT/services/python_quotes/quotes_server.py --listen $listen" ;;
    *) echo "${BINS[$name]} --listen=$listen" ;;
  esac
}

# ---------------------------------------------------------------- checks
missing=()
for name in chat_bot notifications monitoring; do
  [[ -x ${BINS[$name]} ]] || missing+=("$name service: ${BINS[$name]} (build target '$name')")
done
[[ -x $FRONTEND ]] || missing+=("frontend: $FRONTEND (build target 'ssebridge-frontend')")
[[ -x $KEYGEN ]] || missing+=("key generator: $KEYGEN (build target 'ssebridge-keygen')")
if ! "$PYTHON" -c 'import grpc, grpc_tools' 2>/dev/null; then
  missing+=("python_quotes: $PYTHON with grpc and grpc_tools (apt-get install python3-grpcio python3-grpc-tools)")
fi
for f in index.html assets/app.css assets/app.js vendor/htmx.min.js vendor/sse.js; do
  [[ -f $WEB_DIR/$f ]] || { missing+=("site: $WEB_DIR/$f (make -C frontend/web OUT=$WEB_DIR)"); break; }
done
if ((${#missing[@]})); then
  fail "cannot start, missing:"
  for m in "${missing[@]}"; do fail "  - $m"; done
  fail "'make demo' installs and builds all of these."
  exit 1
fi

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
busy=()
for name in "${NAMES[@]}"; do
  port_busy "${PORTS[$name]}" && busy+=("${PORTS[$name]} (for $name)")
done
port_busy "$PORT" && busy+=("$PORT (for the frontend; choose another with PORT=...)")
((REDIS_PORT)) && port_busy "$REDIS_PORT" && busy+=("$REDIS_PORT (for redis-server; REDIS_PORT=... picks another, 0 = none)")
if ((${#busy[@]})); then
  fail "port already in use on 127.0.0.1 - is another demo still running?"
  for b in "${busy[@]}"; do fail "  - $b"; done
  exit 1
fi

LOG_DIR=${LOG_DIR:-$(mktemp -d /tmp/ssebridge-demo.XXXXXX)}
mkdir -p "$LOG_DIR"

# --------------------------------------------------------------- lifecycle
declare -A PID_NAME=()
PIDS=()
stopping=0
stop_all() {
  ((stopping)) && return
  stopping=1
  trap '' INT TERM
  ((${#PIDS[@]})) || return
  say "stopping ${#PIDS[@]} processes..."
  kill -TERM "${PIDS[@]}" 2>/dev/null
  for _ in $(seq 50); do
    local alive=0
    for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.1
  done
  for p in "${PIDS[@]}"; do
    if kill -0 "$p" 2>/dev/null; then
      fail "${PID_NAME[$p]} (pid $p) did not stop within 5 s: killing it"
      kill -KILL "$p" 2>/dev/null
    fi
  done
  wait "${PIDS[@]}" 2>/dev/null
  say "stopped. Logs: $LOG_DIR"
}
trap 'stop_all; exit 130' INT
trap 'stop_all; exit 143' TERM
trap 'stop_all' EXIT

start() {  # name, command...
  local name=$1; shift
  "$@" >"$LOG_DIR/$name.log" 2>&1 &
  PIDS+=($!)
  PID_NAME[$!]=$name
}

forget() {  # pid: a child that has exited
  local keep=() p
  wait "$1" 2>/dev/null
  for p in "${PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
  PIDS=("${keep[@]}")
}

# Waits until the process logs that it listens on `port` (each prints one
# such line once it accepts calls), while it lives; up to 20 s. Returns 0 once
# listening, 2 if it exited because the address was in use, else 1.
wait_listening() {
  local name=$1 pid=$2 port=$3 log=$LOG_DIR/$1.log
  for _ in $(seq 200); do
    if grep -Eq "(listening on|serving .* on port).*[:[:space:]]$port([^0-9]|\$)" "$log" 2>/dev/null; then
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      grep -qi "in use" "$log" && return 2
      fail "$name exited during start-up. Last lines of $log:"
      tail -n 15 "$log" | sed 's/^/    /' >&2
      return 1
    fi
    sleep 0.1
  done
  fail "$name did not report listening on port $port within 20 s (log: $log)"
  return 1
}

# Starts `name` on `port` and waits for it. A port held only by a closing
# connection (TIME_WAIT: this port range is also the kernel's range for
# outgoing connections, so a busy machine sometimes leaves one) frees itself
# within a minute: retry until then.
launch() {  # name, port, command...
  local name=$1 port=$2 rc deadline=$((SECONDS + 70)) told=0
  shift 2
  while :; do
    start "$name" "$@"
    wait_listening "$name" "${PIDS[-1]}" "$port"
    rc=$?
    ((rc == 0)) && return 0
    if ((rc == 2)); then
      forget "${PIDS[-1]}"
      if ! port_busy "$port" && ((SECONDS < deadline)); then
        ((told++)) || say "port $port is still held by a closing connection (TIME_WAIT); retrying for up to a minute..."
        sleep 2
        continue
      fi
      fail "$name cannot listen on 127.0.0.1:$port: address in use. Last lines of $LOG_DIR/$name.log:"
      tail -n 5 "$LOG_DIR/$name.log" | sed 's/^/    /' >&2
      if [[ $name == frontend ]]; then
        fail "another program has port $port (PORT=... picks another one)"
      else
        fail "another program has port $port; the demo's services need 50051-50054"
      fi
    fi
    return 1
  done
}

# Redis for the notifications history: a password made once (kept with the
# data), given to redis-server through a config file, not its command line.
if ((REDIS_PORT)); then
  mkdir -p "$REDIS_DIR" && chmod 700 "$REDIS_DIR"
  if [[ ! -s $REDIS_DIR/password ]]; then
    (umask 077; head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$REDIS_DIR/password"; echo >>"$REDIS_DIR/password")
  fi
  (umask 077; printf 'requirepass "%s"\n' "$(head -n1 "$REDIS_DIR/password")" >"$REDIS_DIR/redis.conf")
  start redis "$REDIS_SERVER" "$REDIS_DIR/redis.conf" --port "$REDIS_PORT" \
    --bind 127.0.0.1 --dir "$REDIS_DIR" --save "" --appendonly yes --daemonize no
  ready=0
  for _ in $(seq 100); do
    grep -q "Ready to accept connections" "$LOG_DIR/redis.log" 2>/dev/null && { ready=1; break; }
    kill -0 "${PIDS[-1]}" 2>/dev/null || break
    sleep 0.1
  done
  if ((!ready)); then
    fail "redis-server did not start on 127.0.0.1:$REDIS_PORT. Last lines of $LOG_DIR/redis.log:"
    tail -n 10 "$LOG_DIR/redis.log" | sed 's/^/    /' >&2
    exit 1
  fi
  say "redis listening on 127.0.0.1:$REDIS_PORT (notifications history in $REDIS_DIR)"
else
  say "no redis-server: notifications are kept in memory (lost when the demo stops)"
fi

for name in "${NAMES[@]}"; do
  # shellcheck disable=SC2046  # command_for output is split into words
  launch "$name" "${PORTS[$name]}" $(command_for "$name") || exit 1
  say "$name listening on 127.0.0.1:${PORTS[$name]}"
done

# The dev login's signing key and the JWKS the frontend verifies with.
mkdir -p "$KEY_DIR"
if ! "$KEYGEN" --private_jwk="$KEY_DIR/signing-key.jwk" \
     --public_jwks="$KEY_DIR/jwks.json" --if_missing >"$LOG_DIR/keygen.log" 2>&1; then
  fail "cannot create the dev login keys in $KEY_DIR:"
  sed 's/^/    /' "$LOG_DIR/keygen.log" >&2
  exit 1
fi

# The config with the built site's and the keys' absolute paths.
sed -e "s|^static_root:.*|static_root: \"$WEB_DIR\"|" \
    -e "s|build/demo-keys/|$KEY_DIR/|" "$CONFIG" >"$LOG_DIR/demo.yaml"
launch frontend "$PORT" "$FRONTEND" --config "$LOG_DIR/demo.yaml" --port "$PORT" || exit 1

URL="http://127.0.0.1:$PORT/"
cat <<EOF

  sse-bridge demo is running:  $URL

    ${URL}chat.html            chat bot + room feed      (chat_bot, :50051)
    ${URL}notifications.html   your inbox (sign in with any name; user 'demo' gets one every 3 s)
    ${URL}dashboard.html       panels + charts           (monitoring, :50053)
    ${URL}quotes.html          finite stream             (python_quotes, :50054)
    ${URL}readyz  ${URL}metrics

  Logs in $LOG_DIR. Ctrl-C stops everything.

EOF

# Runs until a signal arrives or any process exits on its own.
while :; do
  wait -n "${PIDS[@]}"
  rc=$?
  ((stopping)) && break
  for p in "${PIDS[@]}"; do
    if ! kill -0 "$p" 2>/dev/null; then
      fail "${PID_NAME[$p]} (pid $p) exited (status $rc). Last lines of $LOG_DIR/${PID_NAME[$p]}.log:"
      tail -n 15 "$LOG_DIR/${PID_NAME[$p]}.log" | sed 's/^/    /' >&2
      stop_all
      exit 1
    fi
  done
done
