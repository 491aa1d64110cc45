#!/usr/bin/env bash
# Builds a Debian base image from Debian's packages, for a Docker engine that can pull
# nothing: debootstrap a root file system and `docker import` it under a local tag.
#
#   scripts/build-base-image.sh [options]
#     --variant minbase   (default) a minimal bookworm: the base for the operator's runtime
#                         and build stages
#     --variant systemd   minbase plus systemd (as /sbin/init), dbus and iproute2: the base
#                         a kind node image is built on; its image runs /sbin/init
#     --tag TAG           the image tag (default fo-local/debian:SUITE for minbase,
#                         fo-local/debian:SUITE-systemd for systemd)
#     --suite SUITE       the Debian release (default bookworm)
#     --mirror URL        the Debian mirror (default: the one apt uses on this machine, from
#                         /etc/apt/sources.list.d/*.sources or /etc/apt/sources.list; else
#                         http://deb.debian.org/debian)
#     --include PKGS      extra packages, comma-separated, installed by debootstrap
#     --slim              drop documentation, manuals, info pages and locales
#     --force             rebuild even when the tag already exists (the default skips it)
#
# Needs root (debootstrap), debootstrap (installed with apt-get when missing) and docker.
# Prints the image tag on stdout; progress goes to stderr.
set -euo pipefail

variant=minbase suite=bookworm tag="" mirror="" include="" slim=0 force=0
log() { echo "build-base-image: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2; exit "${1:-2}"; }

while [ $# -gt 0 ]; do
  case "$1" in
    --variant) [ $# -ge 2 ] || die "--variant needs a value"; variant="$2"; shift 2 ;;
    --variant=*) variant="${1#*=}"; shift ;;
    --tag) [ $# -ge 2 ] || die "--tag needs a value"; tag="$2"; shift 2 ;;
    --tag=*) tag="${1#*=}"; shift ;;
    --suite) [ $# -ge 2 ] || die "--suite needs a value"; suite="$2"; shift 2 ;;
    --suite=*) suite="${1#*=}"; shift ;;
    --mirror) [ $# -ge 2 ] || die "--mirror needs a value"; mirror="$2"; shift 2 ;;
    --mirror=*) mirror="${1#*=}"; shift ;;
    --include) [ $# -ge 2 ] || die "--include needs a value"; include="$2"; shift 2 ;;
    --include=*) include="${1#*=}"; shift ;;
    --slim) slim=1; shift ;;
    --force) force=1; shift ;;
    -h|--help) usage 0 ;;
    *) log "unknown argument: $1"; usage 2 ;;
  esac
done

case "$variant" in
  minbase) pkgs="" ; default_tag="fo-local/debian:$suite" ;;
  systemd) pkgs="systemd,systemd-sysv,dbus,iproute2" ; default_tag="fo-local/debian:$suite-systemd" ;;
  *) die "unknown variant '$variant' (minbase or systemd)" ;;
esac
tag="${tag:-$default_tag}"
[[ "$tag" =~ ^[a-z0-9][a-z0-9._/-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?$ ]] || die "not a valid image tag: '$tag'"
[ -n "$include" ] && pkgs="${pkgs:+$pkgs,}$include"

command -v docker >/dev/null || die "no docker client on PATH"
docker info >/dev/null 2>&1 || die "the Docker engine does not answer ('docker info' fails)"
if [ "$force" = 0 ] && docker image inspect "$tag" >/dev/null 2>&1; then
  log "$tag exists (use --force to rebuild)"
  echo "$tag"; exit 0
fi
[ "$(id -u)" -eq 0 ] || die "debootstrap needs root"

if ! command -v debootstrap >/dev/null; then
  command -v apt-get >/dev/null || die "debootstrap is missing and there is no apt-get to install it"
  log "installing debootstrap with apt-get"
  { apt-get install -y -qq debootstrap || { apt-get update -qq && apt-get install -y -qq debootstrap; }; } >/dev/null \
    || die "apt-get install debootstrap failed"
fi

# The mirror apt uses for SUITE itself (not -security/-updates, not third-party repositories):
# deb822 stanzas whose Suites field lists SUITE, then one-line "deb [opts] URL SUITE ..." entries.
apt_mirror() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -r "$f" ] || continue
    awk -v suite="$1" '
      function flush() { if (uris != "" && types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " suite " ")) { split(uris, u, " "); print u[1]; found = 1; exit } uris = suites = types = "" }
      /^[[:space:]]*#/ { next }
      /^[[:space:]]*$/ { flush(); next }
      tolower($1) == "uris:"   { $1 = ""; uris = $0 }
      tolower($1) == "suites:" { $1 = ""; suites = $0 }
      tolower($1) == "types:"  { $1 = ""; types = $0 }
      END { if (!found) flush() }' "$f"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -r "$f" ] || continue
    sed -E 's/\[[^]]*\]//' "$f" | awk -v suite="$1" '$1 == "deb" && $3 == suite { print $2 }'
  done
}
if [ -z "$mirror" ]; then
  mirror="$(apt_mirror "$suite" | head -1)"
  [ -n "$mirror" ] || { mirror=http://deb.debian.org/debian; log "no apt source for $suite found; using $mirror"; }
fi

work="$(mktemp -d -t base-image.XXXXXX)"
# An interrupted debootstrap can leave /proc, /sys or a bind-mounted /dev mounted in the
# target: unmount whatever is under the work directory before deleting it, and never
# delete across file systems.
cleanup() {
  awk -v w="$work/" 'index($2, w) == 1 { print $2 }' /proc/mounts | sort -r | while read -r m; do umount -l "$m" || true; done
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT
root="$work/root"
t0=$SECONDS
log "debootstrap --variant=minbase${pkgs:+ --include=$pkgs} $suite from $mirror"
debootstrap --variant=minbase ${pkgs:+--include="$pkgs"} "$suite" "$root" "$mirror" >"$work/debootstrap.log" 2>&1 || {
  tail -25 "$work/debootstrap.log" >&2
  [ -f "$root/debootstrap/debootstrap.log" ] && tail -25 "$root/debootstrap/debootstrap.log" >&2
  die "debootstrap failed (suite $suite, mirror $mirror)"
}

# apt sources as in Debian's own images: the release, its -updates and its -security suites.
case "$suite" in
  sid|unstable|experimental) suites="$suite"; security="" ;;
  *) suites="$suite $suite-updates"
     security="$(apt_mirror "$suite-security" | head -1)"; security="${security:-http://deb.debian.org/debian-security}" ;;
esac
rm -f "$root/etc/apt/sources.list"
{
  printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$mirror" "$suites"
  [ -z "$security" ] || printf '\nTypes: deb\nURIs: %s\nSuites: %s-security\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$security" "$suite"
} >"$root/etc/apt/sources.list.d/debian.sources"

# What an image should not carry: package lists and caches, logs, this machine's identity.
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
       "$root"/var/log/*.log "$root"/var/log/apt/* "$root"/var/cache/debconf/*-old "$root"/tmp/* "$root"/var/tmp/*
: >"$root/etc/hostname"
[ -e "$root/etc/machine-id" ] && : >"$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id"
if [ "$slim" = 1 ]; then
  rm -rf "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/*
fi

changes=()
case "$variant" in
  minbase) changes=(-c 'CMD ["bash"]') ;;
  systemd)
    # /sbin/init is an absolute symlink: look at its target inside the root file system.
    [ -x "$root/lib/systemd/systemd" ] && [ -L "$root/sbin/init" -o -x "$root/sbin/init" ] \
      || die "no systemd as /sbin/init in the root file system (systemd-sysv not installed?)"
    # systemd reads $container. STOPSIGNAL SIGRTMIN+3 (a clean systemd halt) belongs in the
    # image built FROM this one: Docker 20.10 refuses it as an import change.
    changes=(-c 'ENV container=docker' -c 'CMD ["/sbin/init"]') ;;
esac
old="$(docker image inspect -f '{{.Id}}' "$tag" 2>/dev/null || true)"
log "docker import as $tag"
tar --numeric-owner -C "$root" -c . | docker import "${changes[@]}" \
  -m "debootstrap --variant=minbase${pkgs:+ --include=$pkgs} $suite $mirror" - "$tag" >/dev/null \
  || die "docker import failed"
# A rebuild (--force) leaves the previous image untagged: remove it unless something uses it.
if [ -n "$old" ] && [ "$old" != "$(docker image inspect -f '{{.Id}}' "$tag")" ] &&
   [ -z "$(docker image inspect -f '{{join .RepoTags ""}}' "$old" 2>/dev/null)" ]; then
  docker rmi "$old" >/dev/null 2>&1 || log "kept the previous image ${old#sha256:} (in use)"
fi
log "done in $((SECONDS - t0)) s: $tag $(docker image inspect -f '{{.Size}}' "$tag" | awk '{printf "%.0f MB", $1 / 1e6}')"
echo "$tag"
