#!/bin/sh
# The frontend image's entrypoint: makes the development login's key pair
# on first start (docker/frontend.yaml points auth at it; a real deployment
# mounts its identity provider's JWKS instead and this does nothing), then
# runs the frontend with the container's arguments.
set -e
KEY_DIR=${SSEBRIDGE_KEY_DIR:-/var/lib/ssebridge/keys}
if [ -d "$KEY_DIR" ] && [ -w "$KEY_DIR" ]; then
  # flock: replicas sharing the volume must not make two key pairs.
  flock "$KEY_DIR/.keygen.lock" ssebridge-keygen --private_jwk="$KEY_DIR/signing-key.jwk" \
    --public_jwks="$KEY_DIR/jwks.json" --if_missing
fi
exec ssebridge-frontend "$@"
