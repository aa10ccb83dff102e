#!/usr/bin/env bash
# The container engine for `make images` and `make compose-test`.
#
#   docker/engine.sh images          build every image of docker-compose.yml
#   docker/engine.sh compose ARGS    docker compose / podman-compose ARGS
#   docker/engine.sh probe           exit 0 iff containers can run here
#
# Engine: `docker` when a daemon answers (`docker info`), else podman
# (installed from Debian by `make images` when missing). No registry is
# needed: when the base images (debian:bookworm, debian:bookworm-slim,
# redis:7.0-bookworm) are absent, they are made locally with debootstrap +
# `podman import` (redis: Debian's redis-server on that base).
#
# Sandbox quirks live in docker/sandbox/containers.conf, used only when a
# probe container fails with podman's defaults (see that file).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$here")"
compose_file="$here/docker-compose.yml"
ROOTFS_DIR="${ROOTFS_DIR:-/var/tmp/ssebridge-rootfs}"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo

log() { echo "engine: $*" >&2; }

have_docker_daemon() {
  command -v docker >/dev/null 2>&1 && timeout 10 docker info >/dev/null 2>&1
}

install_podman() {
  local missing="" p
  for p in podman buildah podman-compose runc uidmap aardvark-dns netavark iptables debootstrap; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' \
      || missing="$missing $p"
  done
  if [ -n "$missing" ]; then
    log "installing$missing"
    $SUDO apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      --no-install-recommends $missing
  fi
}

select_engine() {
  if [ -n "${ENGINE:-}" ]; then return; fi
  if have_docker_daemon; then
    ENGINE=docker
    if docker compose version >/dev/null 2>&1; then COMPOSE=(docker compose)
    else COMPOSE=(docker-compose); fi
  else
    install_podman
    ENGINE=podman
    COMPOSE=(podman-compose)
  fi
  export ENGINE
}

# Makes debian:bookworm (+ -slim) from a debootstrap minbase when no such
# image exists and none can be pulled.
ensure_debian_base() {
  if $ENGINE image exists debian:bookworm 2>/dev/null \
     || $ENGINE image inspect debian:bookworm >/dev/null 2>&1; then
    :
  elif timeout 60 $ENGINE pull -q docker.io/library/debian:bookworm >/dev/null 2>&1; then
    $ENGINE tag docker.io/library/debian:bookworm docker.io/library/debian:bookworm-slim 2>/dev/null || true
    $ENGINE pull -q docker.io/library/debian:bookworm-slim >/dev/null 2>&1 || true
  else
    log "no registry: making debian:bookworm with debootstrap in $ROOTFS_DIR"
    local dir="$ROOTFS_DIR/bookworm"
    if [ ! -x "$dir/usr/bin/apt-get" ]; then
      $SUDO rm -rf "$dir"
      $SUDO debootstrap --variant=minbase bookworm "$dir" "$DEBIAN_MIRROR" >/dev/null
    fi
    $SUDO rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/archives/*.deb
    $SUDO tar -C "$dir" -c . | $ENGINE import - docker.io/library/debian:bookworm >/dev/null
  fi
  if ! $ENGINE image inspect debian:bookworm-slim >/dev/null 2>&1; then
    $ENGINE tag docker.io/library/debian:bookworm docker.io/library/debian:bookworm-slim
  fi
}

ensure_redis_image() {
  if $ENGINE image inspect redis:7.0-bookworm >/dev/null 2>&1; then return; fi
  if timeout 60 $ENGINE pull -q docker.io/library/redis:7.0-bookworm >/dev/null 2>&1; then return; fi
  log "no registry: building redis:7.0-bookworm from Debian's redis-server"
  $ENGINE build "${BUILD_FLAGS[@]}" -t docker.io/library/redis:7.0-bookworm - <<'EOF'
FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server \
 && rm -rf /var/lib/apt/lists/* && mkdir -p /data
WORKDIR /data
EXPOSE 6379
CMD ["redis-server"]
EOF
}

# podman: uses docker/sandbox/containers.conf only when a container cannot
# start with the defaults.
probe_run() {
  timeout 60 $ENGINE run --rm --pull=never debian:bookworm-slim true \
    >/tmp/ssebridge-probe.$$ 2>&1
}
ensure_runnable() {
  [ "$ENGINE" = podman ] || return 0
  [ -n "${CONTAINERS_CONF:-}" ] && return 0
  if ! probe_run; then
    log "podman defaults fail here ($(tail -1 /tmp/ssebridge-probe.$$));" \
        "using docker/sandbox/containers.conf"
    export CONTAINERS_CONF="$here/sandbox/containers.conf"
    if ! probe_run; then
      log "containers cannot run on this machine:"; cat /tmp/ssebridge-probe.$$ >&2
      rm -f /tmp/ssebridge-probe.$$; return 1
    fi
  fi
  rm -f /tmp/ssebridge-probe.$$
}

setup() {
  select_engine
  BUILD_FLAGS=()
  if [ "$ENGINE" = podman ]; then
    BUILD_FLAGS=(--pull=never --layers)
    # Docker image format: OCI images drop HEALTHCHECK (podman-compose's
    # own builds read this too).
    export BUILDAH_FORMAT=docker
  fi
  ensure_debian_base
  ensure_runnable
  ensure_redis_image
  log "engine $ENGINE (${COMPOSE[*]})${CONTAINERS_CONF:+, CONTAINERS_CONF=$CONTAINERS_CONF}"
}

build_images() {
  local t0 t
  t0=$(date +%s)
  # HTTPS to npm from the frontend's web stage behind a re-signing proxy:
  # this host's extra CAs (none on most machines).
  if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
    cp /usr/local/share/ca-certificates/*.crt "$here/extra-ca/"
  fi
  # Frontend first: its build stage is the shared C++ builder; the service
  # image then reuses the cached stage (same text, same context).
  for spec in frontend:Dockerfile.frontend service:Dockerfile.service \
              python_quotes:Dockerfile.python_quotes edge:Dockerfile.edge; do
    t=$(date +%s)
    log "building ssebridge/${spec%%:*}:local"
    $ENGINE build "${BUILD_FLAGS[@]}" -f "$here/${spec#*:}" \
      -t "ssebridge/${spec%%:*}:local" "$repo"
    log "ssebridge/${spec%%:*}:local built in $(( $(date +%s) - t ))s"
  done
  log "all images built in $(( $(date +%s) - t0 ))s"
  $ENGINE images --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E 'ssebridge|redis' >&2 || true
}

cmd="${1:-}"; shift || true
case "$cmd" in
  probe) select_engine; BUILD_FLAGS=(); ensure_debian_base && ensure_runnable ;;
  images) setup; build_images ;;
  compose) setup; exec "${COMPOSE[@]}" -f "$compose_file" "$@" ;;
  # stdout is for eval: everything setup prints (image builds) goes to stderr.
  env) setup >&2; echo "ENGINE=$ENGINE"; echo "CONTAINERS_CONF=${CONTAINERS_CONF:-}"
       echo "COMPOSE=${COMPOSE[*]}" ;;
  *) echo "usage: $0 images|compose ARGS|probe|env" >&2; exit 2 ;;
esac
