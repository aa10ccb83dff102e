#!/bin/sh
# Starts the nginx edge (docker/nginx.conf.template): on first start makes a
# self-signed TLS certificate with openssl when TLS_CERT / TLS_KEY do not
# exist (mount a real certificate there to use it instead), renders the
# template with the environment below, checks it, and runs nginx in the
# foreground (exec: nginx gets the container's signals).
#
# The edge container runs this as its entrypoint; tests/deploy/edge_test.cc
# runs the very same script on loopback ports with everything in a temp dir.
set -eu

: "${EDGE_LISTEN_ADDR:=0.0.0.0}"
: "${EDGE_HTTP_PORT:=8080}"
: "${EDGE_HTTPS_PORT:=8443}"
: "${EDGE_PUBLIC_HTTPS_PORT:=$EDGE_HTTPS_PORT}"
: "${FRONTEND_UPSTREAM:=frontend:8080}"
: "${TLS_CERT:=/certs/tls.crt}"
: "${TLS_KEY:=/certs/tls.key}"
: "${TLS_SUBJECT:=/CN=localhost}"
: "${TLS_SAN:=DNS:localhost,IP:127.0.0.1}"
: "${TLS_DAYS:=825}"
: "${PROXY_READ_TIMEOUT:=300s}"
: "${NGINX_RUNTIME_DIR:=/run/edge}"
: "${NGINX_ERROR_LOG:=stderr}"
: "${NGINX_ACCESS_LOG:=/dev/stdout}"
: "${NGINX_WORKERS:=auto}"
: "${NGINX_MASTER_PROCESS:=on}"
: "${NGINX_TEMPLATE:=/etc/ssebridge/nginx.conf.template}"
# nginx reads $NGINX as a list of inherited listening sockets (binary
# upgrades): a path there makes it complain. Accept it as NGINX_BIN instead.
if [ -n "${NGINX:-}" ] && [ -z "${NGINX_BIN:-}" ]; then NGINX_BIN=$NGINX; fi
unset NGINX
: "${NGINX_BIN:=nginx}"

say() { printf 'edge: %s\n' "$*"; }

if [ ! -s "$TLS_CERT" ] || [ ! -s "$TLS_KEY" ]; then
  mkdir -p "$(dirname "$TLS_CERT")" "$(dirname "$TLS_KEY")"
  umask 077
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -days "$TLS_DAYS" -subj "$TLS_SUBJECT" -addext "subjectAltName=$TLS_SAN" \
    -keyout "$TLS_KEY" -out "$TLS_CERT" 2>/dev/null
  umask 022
  say "generated a self-signed certificate for $TLS_SAN: $TLS_CERT"
else
  say "using the certificate $TLS_CERT"
fi

# Workers run as whoever starts the edge (as root nginx would pick nobody).
if [ "$(id -u)" = 0 ]; then
  NGINX_USER_LINE="user $(id -un) $(id -gn);"
else
  NGINX_USER_LINE=""
fi

export EDGE_LISTEN_ADDR EDGE_HTTP_PORT EDGE_HTTPS_PORT EDGE_PUBLIC_HTTPS_PORT \
  FRONTEND_UPSTREAM TLS_CERT TLS_KEY PROXY_READ_TIMEOUT NGINX_RUNTIME_DIR \
  NGINX_ERROR_LOG NGINX_ACCESS_LOG NGINX_WORKERS NGINX_MASTER_PROCESS \
  NGINX_USER_LINE
mkdir -p "$NGINX_RUNTIME_DIR"
CONF="$NGINX_RUNTIME_DIR/nginx.conf"
envsubst '${EDGE_LISTEN_ADDR} ${EDGE_HTTP_PORT} ${EDGE_HTTPS_PORT}
  ${EDGE_PUBLIC_HTTPS_PORT} ${FRONTEND_UPSTREAM} ${TLS_CERT} ${TLS_KEY}
  ${PROXY_READ_TIMEOUT} ${NGINX_RUNTIME_DIR} ${NGINX_ERROR_LOG}
  ${NGINX_ACCESS_LOG} ${NGINX_WORKERS} ${NGINX_MASTER_PROCESS}
  ${NGINX_USER_LINE}' <"$NGINX_TEMPLATE" >"$CONF"

"$NGINX_BIN" -t -q -p "$NGINX_RUNTIME_DIR" -e "$NGINX_ERROR_LOG" -c "$CONF"
say "https on $EDGE_LISTEN_ADDR:$EDGE_HTTPS_PORT (http/2), http on" \
  "$EDGE_LISTEN_ADDR:$EDGE_HTTP_PORT redirects; upstream $FRONTEND_UPSTREAM"
exec "$NGINX_BIN" -p "$NGINX_RUNTIME_DIR" -e "$NGINX_ERROR_LOG" -c "$CONF"
