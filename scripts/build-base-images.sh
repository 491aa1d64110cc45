#!/usr/bin/env bash
# The Dockerfile's base images, built here from Debian's packages for an engine that can
# pull nothing (scripts/build-base-image.sh: debootstrap minbase, `docker import`):
# debian:bookworm, and debian:bookworm-slim without documentation, manuals and locales. A tag
# already present is left alone, so a machine that pulled the public images keeps them.
#   usage: scripts/build-base-images.sh [--force]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
force=(); [ "${1:-}" = "--force" ] && force=(--force)
"$here/build-base-image.sh" --tag debian:bookworm "${force[@]}" >/dev/null
"$here/build-base-image.sh" --tag debian:bookworm-slim --slim "${force[@]}" >/dev/null
echo "build-base-images: $(docker image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' debian | tr '\n' ' ')" >&2
