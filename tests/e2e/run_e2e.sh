#!/usr/bin/env bash
# Browser end-to-end tests (CTest: e2e_browser). Installs what is missing,
# then runs every tests/e2e/*.test.mjs with node's test runner, one file at a
# time (each starts its own demo stack and Chromium):
#
#   tests/e2e/run_e2e.sh BUILD_DIR [FILE.test.mjs ...]
#   NODE=/path/to/node tests/e2e/run_e2e.sh BUILD_DIR   # another Node.js
#
# - Debian packages: chromium (Debian's; no browser is ever downloaded),
#   nginx + openssl + gettext-base (the HTTP/2 edge case), and nodejs/npm
#   only when `node` / `npm` are absent (a machine's own Node.js is kept).
#   Node.js 18 (Debian 12's) or newer: playwright-core is pinned to the
#   newest release that still supports 18 (package.json).
#   As root, or with passwordless sudo.
# - npm packages: `npm ci` here when node_modules is missing or older than
#   package-lock.json (PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1).
# - The demo site: make -C frontend/web OUT=BUILD_DIR/web (a no-op when built).
#
# Exit status: 0 all passed, 77 skipped (printed why: no Chromium or Node.js
# and no way to install them), else failed. Screenshots go to
# tests/e2e/artifacts/.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=${1:-$ROOT/build}
shift || true
BUILD=$(cd "$BUILD" 2>/dev/null && pwd) || { echo "e2e: build dir ${1:-} not found" >&2; exit 1; }
START=$SECONDS

say() { printf 'e2e: %s\n' "$*"; }
skip() { printf 'e2e: SKIPPED: %s\n' "$*"; exit 77; }
fail() { printf 'e2e: FAILED: %s\n' "$*" >&2; exit 1; }

# ------------------------------------------------------------- Debian packages
if [ "$(id -u)" = 0 ]; then
  SUDO=""
elif sudo -n true 2>/dev/null; then
  SUDO="sudo -n"
else
  SUDO=none
fi
apt_updated=0
apt_install() {  # packages...; 0 if installed
  [ "$SUDO" = none ] && return 1
  if [ $apt_updated = 0 ]; then
    $SUDO apt-get update -qq || return 1
    apt_updated=1
  fi
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}
installed() { dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null | grep -q '^install ok installed'; }

CHROMIUM=${SSEBRIDGE_CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$CHROMIUM" ]; then
  say "installing chromium (Debian)"
  apt_install chromium || skip "no $CHROMIUM and cannot install it (apt-get install chromium as root)"
fi
# NODE runs the tests (default: node on PATH); npm (on PATH) only installs
# the packages, whichever Node.js it runs on.
if [ -n "${NODE:-}" ]; then
  [ -x "$NODE" ] || fail "NODE=$NODE is not an executable"
fi
if { [ -z "${NODE:-}" ] && ! command -v node >/dev/null; } || ! command -v npm >/dev/null; then
  say "installing nodejs npm (Debian)"
  apt_install nodejs npm || skip "no node/npm and cannot install them (apt-get install nodejs npm as root)"
fi
NODE=${NODE:-$(command -v node)}
missing=()
for p in nginx openssl gettext-base; do installed "$p" || missing+=("$p"); done
if ((${#missing[@]})); then
  say "installing ${missing[*]} (for the HTTP/2 edge case)"
  apt_install "${missing[@]}" || say "cannot install ${missing[*]}: the HTTP/2 edge case will skip"
fi
if ! installed redis-server; then
  say "installing redis-server (for notifications on Redis)"
  apt_install redis-server || say "cannot install redis-server: the notifications-on-Redis case will skip"
fi
NODE_MIN=18  # package.json "engines", and playwright-core's
node_major=$("$NODE" -p 'process.versions.node.split(".")[0]') || fail "$NODE does not run"
((node_major >= NODE_MIN)) ||
  fail "Node.js $("$NODE" --version) ($NODE) is too old: the browser tests need $NODE_MIN or newer (Debian 12's nodejs is 18)"

# ------------------------------------------------------------------ npm ci
cd "$HERE" || exit 1
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ] ||
   [ package.json -nt node_modules/.package-lock.json ]; then
  say "npm ci"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --ignore-scripts ||
    fail "npm ci in $HERE"
  touch node_modules/.package-lock.json
fi

# -------------------------------------------------------- binaries and site
for b in frontend/ssebridge-frontend services/chat_bot/chat_bot \
         services/notifications/notifications services/monitoring/monitoring; do
  [ -x "$BUILD/$b" ] || fail "$BUILD/$b not built (cmake --build $BUILD --target e2e_browser_deps)"
done
make -s -C "$ROOT/frontend/web" OUT="$BUILD/web" >/dev/null || fail "building the demo site (make -C frontend/web OUT=$BUILD/web)"

# -------------------------------------------------------------------- run
if (($#)); then files=("$@"); else files=("$HERE"/*.test.mjs); fi
say "Chromium: $("$CHROMIUM" --version 2>/dev/null | head -1); Node.js $("$NODE" --version) ($NODE); $("$NODE" -p 'require("playwright-core/package.json").version' 2>/dev/null | sed 's/^/playwright-core /')"
export SSEBRIDGE_BUILD_DIR=$BUILD SSEBRIDGE_CHROMIUM=$CHROMIUM
rm -rf "$HERE/artifacts/logs"
# The tests start every child in its own process group and stop it, also
# when a test fails; should node itself be killed, the groups it recorded in
# PIDFILE are killed here.
# Everything temporary (profiles, configs, certificates) under one dir that
# goes away with this script, whatever happened to node.
TMPDIR=$(mktemp -d "${TMPDIR:-/tmp}/ssebridge-e2e-run.XXXXXX")
export TMPDIR
PIDFILE=$TMPDIR/pids
reap() {
  local pid
  while read -r pid; do
    [ -n "$pid" ] && kill -0 -- "-$pid" 2>/dev/null || continue
    say "killing left-over process group $pid"
    kill -KILL -- "-$pid" 2>/dev/null
  done <"$PIDFILE"
  : >"$PIDFILE"
}
trap 'reap; rm -rf "$TMPDIR"' EXIT
trap 'exit 143' TERM INT
failed=()
for f in "${files[@]}"; do
  t0=$SECONDS
  say "--- $(basename "$f")"
  # Each file is bounded on its own too (the CTest TIMEOUT bounds the whole).
  : >"$PIDFILE"
  if SSEBRIDGE_E2E_PIDFILE=$PIDFILE timeout -k 10 240 "$NODE" --test --test-reporter=spec "$f"; then
    say "$(basename "$f") passed in $((SECONDS - t0)) s"
  else
    failed+=("$(basename "$f")")
    say "$(basename "$f") FAILED after $((SECONDS - t0)) s"
  fi
  reap
done
[ -d "$HERE/artifacts" ] && say "artifacts (screenshots, process logs): $(ls -d "$HERE"/artifacts/* 2>/dev/null | tr '\n' ' ')"
say "browser tests took $((SECONDS - START)) s"
((${#failed[@]} == 0)) || fail "${failed[*]}"
say "all passed"
