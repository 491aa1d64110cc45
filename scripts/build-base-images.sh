#!/usr/bin/env bash
# The Dockerfile's base images, built here from Debian's packages for an engine that can
# pull nothing: debootstrap a bookworm root file system (minbase) and `docker import` it as
# debian:bookworm, and the same without documentation, manuals and locales as
# debian:bookworm-slim. A tag already present is left alone, so a machine that pulled the
# public images keeps them. The mirror is the one apt uses on this machine.
#   usage: scripts/build-base-images.sh [--force]
set -euo pipefail
force=0; [ "${1:-}" = "--force" ] && force=1
log() { echo "build-base-images: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }
command -v docker >/dev/null || die "no docker client"
docker info >/dev/null 2>&1 || die "the Docker engine does not answer (docker info)"
have() { [ "$force" = 0 ] && docker image inspect "$1" >/dev/null 2>&1; }
if have debian:bookworm && have debian:bookworm-slim; then log "debian:bookworm and debian:bookworm-slim are present"; exit 0; fi
[ "$(id -u)" -eq 0 ] || die "debootstrap needs root"
if ! command -v debootstrap >/dev/null; then
  log "installing debootstrap"
  apt-get install -y -qq debootstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null; } \
    || die "apt-get install debootstrap failed"
fi
mirror="$(sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $1}' | head -1)"
[ -n "$mirror" ] || mirror="$(awk '$1 == "deb" && $3 ~ /^bookworm$/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
t0=$(date +%s)
log "debootstrap bookworm (minbase) from ${mirror:-the default mirror of debootstrap}"
# shellcheck disable=SC2086
debootstrap --variant=minbase bookworm "$work/root" $mirror >"$work/debootstrap.log" 2>&1 \
  || { tail -20 "$work/debootstrap.log" >&2; die "debootstrap failed"; }
rm -rf "$work/root/var/lib/apt/lists/"* "$work/root/var/cache/apt/"*.bin "$work/root/var/cache/apt/archives/"*.deb
if ! have debian:bookworm; then
  tar -C "$work/root" -c . | docker import -c 'CMD ["bash"]' - debian:bookworm >/dev/null
  log "imported debian:bookworm"
fi
if ! have debian:bookworm-slim; then
  rm -rf "$work/root/usr/share/doc/"* "$work/root/usr/share/man/"* "$work/root/usr/share/info/"* \
         "$work/root/usr/share/locale/"* "$work/root/var/log/"*
  tar -C "$work/root" -c . | docker import -c 'CMD ["bash"]' - debian:bookworm-slim >/dev/null
  log "imported debian:bookworm-slim"
fi
log "done in $(( $(date +%s) - t0 )) s: $(docker image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' debian | tr '\n' ' ')"
