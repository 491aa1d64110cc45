#!/usr/bin/env bash
# Checks the Dockerfile without a Docker engine:
#  1. the builder stage is debian:bookworm and installs exactly scripts/install-deps.sh's
#     BUILD_PACKAGES;
#  2. the runtime stage is debian:bookworm-slim, runs as a non-root USER, copies the
#     three binaries, and installs only runtime packages (no -dev);
#  3. every shared library that BIN_DIR's failover-operator, kubectl-failover and
#     failover-demo-app link (ldd) comes from a package the runtime stage installs
#     (dpkg -S), and every package it installs provides at least one of them.
# usage: check-dockerfile.sh BIN_DIR [DOCKERFILE]      (exit 1 with the reasons on failure)
#        check-dockerfile.sh --self-test BIN_DIR       (the check must reject broken Dockerfiles)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BINARIES=(failover-operator kubectl-failover failover-demo-app)

# stage_lines DOCKERFILE N: the N-th stage's instructions (1-based), continuations joined.
stage_lines() {
  sed -e ':a' -e '/\\$/N; s/\\\n/ /; ta' "$1" | grep -v '^\s*#' |
    awk -v n="$2" 'toupper($1)=="FROM"{s++} s==n'
}

# apt_packages: package names of every `apt-get install` in stdin.
apt_packages() {
  grep -o 'apt-get install[^&;]*' | sed 's/apt-get install//' | tr ' ' '\n' |
    grep -v '^-' | grep -v '^$' | sort -u
}

# package_of PATH: sets REPLY to the Debian package owning a library (dpkg -S is slow:
# cached; called without a subshell so the cache survives).
declare -A PKG_OF=()
package_of() {
  local path="$1" cand pkg=""
  if [ -z "${PKG_OF[$path]+set}" ]; then
    for cand in "$path" "$(readlink -f "$path")" "/usr$path" "${path#/usr}"; do
      pkg="$(dpkg -S "$cand" 2>/dev/null | head -1 | cut -d: -f1)" && [ -n "$pkg" ] && break
    done
    PKG_OF[$path]="$pkg"
  fi
  REPLY="${PKG_OF[$path]}"
}

check() {
  local bin_dir="$1" dockerfile="$2" errors=()
  local nstages
  nstages="$(grep -ci '^FROM ' "$dockerfile")"
  [ "$nstages" -ge 2 ] || errors+=("want a multi-stage Dockerfile, found $nstages stage(s)")

  local builder runtime
  builder="$(stage_lines "$dockerfile" 1)"
  runtime="$(stage_lines "$dockerfile" "$nstages")"
  grep -qiE '^FROM debian:bookworm( |$)' <<<"$builder" || errors+=("builder stage must be FROM debian:bookworm")
  grep -qiE '^FROM debian:bookworm-slim( |$)' <<<"$runtime" || errors+=("runtime stage must be FROM debian:bookworm-slim")

  local want have
  want="$(sed -n '/^BUILD_PACKAGES=(/,/^)/p' "$root/scripts/install-deps.sh" | sed '1d;$d' |
          sed 's/#.*//' | tr ' ' '\n' | grep -v '^$' | sort -u)"
  [ -n "$want" ] || errors+=("no BUILD_PACKAGES=( ... ) list in scripts/install-deps.sh")
  have="$(apt_packages <<<"$builder")"
  if [ "$want" != "$have" ]; then
    errors+=("builder packages differ from install-deps.sh BUILD_PACKAGES: $(diff <(echo "$want") <(echo "$have") | grep '^[<>]' | tr '\n' ' ')")
  fi

  local user
  user="$(grep -iE '^USER ' <<<"$runtime" | tail -1 | awk '{print $2}')"
  case "${user%%:*}" in
    ""|0|root) errors+=("runtime stage must end with a non-root USER (found '${user:-none}')") ;;
  esac

  local runtime_pkgs
  runtime_pkgs="$(apt_packages <<<"$runtime")"
  [ -n "$runtime_pkgs" ] || errors+=("runtime stage installs no packages")
  local p
  for p in $runtime_pkgs; do
    case "$p" in *-dev|g++|gcc|cmake|make) errors+=("runtime stage installs build package $p") ;; esac
  done

  declare -A used=()
  local b lib path pkg
  for b in "${BINARIES[@]}"; do
    grep -qE "^COPY .*/$b( |$)" <<<"$runtime" || errors+=("runtime stage does not COPY $b")
    if [ ! -x "$bin_dir/$b" ]; then
      errors+=("$bin_dir/$b is not built (build it first: cmake --build <dir> --target $b)")
      continue
    fi
    while read -r lib path; do
      if [ "$path" = "not" ]; then
        errors+=("$b: $lib is not found by ldd")
        continue
      fi
      package_of "$path"
      pkg="$REPLY"
      if [ -z "$pkg" ]; then
        errors+=("$b: no Debian package owns $path ($lib)")
        continue
      fi
      used[$pkg]=1
      grep -qx "$pkg" <<<"$runtime_pkgs" || errors+=("$b links $lib from package $pkg, which the runtime stage does not install")
    done < <(ldd "$bin_dir/$b" | awk '$2=="=>"{print $1, $3}')
  done
  for p in $runtime_pkgs; do
    [ -n "${used[$p]:-}" ] || errors+=("runtime stage installs $p, which no binary links")
  done

  if [ ${#errors[@]} -gt 0 ]; then
    printf 'check-dockerfile: %s\n' "${errors[@]}" >&2
    return 1
  fi
  echo "check-dockerfile: OK ($(wc -w <<<"$runtime_pkgs") runtime packages cover every library of ${BINARIES[*]})"
}

if [ "${1:-}" = "--self-test" ]; then
  bin_dir="$2"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  check "$bin_dir" "$root/Dockerfile" >/dev/null || { echo "self-test: the real Dockerfile must pass first" >&2; exit 1; }
  fails=0
  mutate() {  # name sed-expression: the mutated Dockerfile must be rejected
    sed -e "$2" "$root/Dockerfile" >"$tmp/Dockerfile"
    if cmp -s "$tmp/Dockerfile" "$root/Dockerfile"; then
      echo "self-test: mutation '$1' changed nothing" >&2; fails=1; return
    fi
    if check "$bin_dir" "$tmp/Dockerfile" >/dev/null 2>&1; then
      echo "self-test: mutation '$1' was not detected" >&2; fails=1
    else
      echo "self-test: rejected: $1"
    fi
  }
  mutate "runtime lacks libssl3" 's/ libssl3 / /'
  mutate "runtime lacks libstdc++6" 's/ libstdc++6 / /'
  mutate "runtime installs an unused package" 's/libyaml-cpp0.7 /libyaml-cpp0.7 libcurl4 /'
  mutate "builder lacks libssl-dev" 's/ libssl-dev / /'
  mutate "runs as root" 's/^USER 65532:65532/USER root/'
  mutate "runtime is not slim" 's/^FROM debian:bookworm-slim/FROM debian:bookworm/'
  exit $fails
fi

check "${1:?usage: check-dockerfile.sh BIN_DIR [DOCKERFILE]}" "${2:-$root/Dockerfile}"
