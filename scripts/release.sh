#!/usr/bin/env bash
# The steps of a release (docs/releasing.md), as .github/workflows/release.yml runs them,
# to a local directory and the local Docker engine: nothing is pushed, nothing is pulled.
#
#   scripts/release.sh --out DIR [--bin-dir DIR] [--skip-image] [--tag vX.Y.Z] [--steps LIST]
#
#   --out DIR       where the artefacts go (created if absent)
#   --bin-dir DIR   take kubectl-failover from DIR (a build's bin/) instead of building it
#                   (Release, no tests) into build-release/
#   --skip-image    leave out the image
#   --tag vX.Y.Z    the git tag being released (CI): must be v + the project version, and
#                   CHANGELOG.md must have its section; without it, an Unreleased section will do
#   --steps LIST    some of plugin,krew,chart,image,sums (default: all); CI runs `plugin` on
#                   each platform's runner and `krew,chart,sums` once the archives are in DIR
#
# Steps, each failing with what is wrong:
#  1. versions agree: CMakeLists.txt's project version X.Y.Z, the chart's appVersion, the krew
#     manifest's spec.version and uris (vX.Y.Z), the tag; CHANGELOG.md has the section;
#  2. the plugin archive of this machine's platform, kubectl-failover_vX.Y.Z_<os>_<arch>.tar.gz
#     (kubectl-failover, kubectl_complete-failover, docs/plugin.md as README.md); CI builds
#     the others on their own runners into the same directory;
#  3. the krew manifest DIR/failover.yaml: plugins/failover.yaml with each archive's sha256;
#     a platform without an archive in DIR is left out (CI has all four) and named;
#  4. the chart: helm lint --strict, helm package into DIR/charts/, helm repo index there
#     (a chart repository directory); the packaged chart renders the release's image;
#  5. the image (unless --skip-image): base images from Debian's packages where the engine
#     has none (scripts/build-base-images.sh), docker build for this machine's architecture,
#     tagged ghcr.io/failover-operator/failover-operator:X.Y.Z (where the chart points) and
#     failover-operator:X.Y.Z; it must run and print its version;
#  6. DIR/SHA256SUMS of every file in DIR.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
IMAGE_REPOSITORY=ghcr.io/failover-operator/failover-operator
log() { echo "release: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

out="" bin_dir="" skip_image=0 tag="" steps="plugin,krew,chart,image,sums"
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="${2:?--out needs a directory}"; shift 2 ;;
    --bin-dir) bin_dir="${2:?--bin-dir needs a directory}"; shift 2 ;;
    --skip-image) skip_image=1; shift ;;
    --tag) tag="${2:?--tag needs vX.Y.Z}"; shift 2 ;;
    --steps) steps="${2:?--steps needs a list}"; shift 2 ;;
    *) die "unknown argument $1 (usage: scripts/release.sh --out DIR [--bin-dir DIR] [--skip-image] [--tag vX.Y.Z] [--steps LIST])" ;;
  esac
done
[ -n "$out" ] || die "--out DIR is required"
for s in ${steps//,/ }; do
  case "$s" in plugin|krew|chart|image|sums) ;; *) die "--steps: unknown step $s (plugin, krew, chart, image, sums)" ;; esac
done
step() { [[ ",$steps," == *",$1,"* ]]; }
[ "$skip_image" = 0 ] || steps="${steps//image/}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

# ---- 1. versions
version="$(sed -n 's/^project(failover-operator VERSION \([0-9]*\.[0-9]*\.[0-9]*\).*/\1/p' "$REPO/CMakeLists.txt")"
[ -n "$version" ] || die "no project(failover-operator VERSION X.Y.Z) in CMakeLists.txt"
chart="$REPO/charts/failover-operator"
chart_version="$(sed -n 's/^version: *//p' "$chart/Chart.yaml")"
app_version="$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$chart/Chart.yaml")"
[ "$app_version" = "$version" ] || die "Chart.yaml appVersion is $app_version, the project version $version"
krew_version="$(sed -n 's/^  version: *//p' "$REPO/plugins/failover.yaml")"
[ "$krew_version" = "v$version" ] || die "plugins/failover.yaml spec.version is $krew_version, want v$version"
if grep -q 'releases/download/' "$REPO/plugins/failover.yaml" &&
   grep 'uri:' "$REPO/plugins/failover.yaml" | grep -vq "/v$version/kubectl-failover_v${version}_"; then
  die "plugins/failover.yaml: a uri does not name v$version"
fi
if [ -n "$tag" ]; then
  [ "$tag" = "v$version" ] || die "tag $tag is not v$version (CMakeLists.txt)"
  grep -q "^## \[$version\]" "$REPO/CHANGELOG.md" || die "CHANGELOG.md has no '## [$version]' section"
else
  grep -qE "^## \[($version|Unreleased)\]" "$REPO/CHANGELOG.md" || die "CHANGELOG.md has neither '## [$version]' nor '## [Unreleased]'"
fi
log "version $version, chart $chart_version"

# ---- 2. the plugin archive of this platform
if step plugin; then
os="$(uname -s | tr '[:upper:]' '[:lower:]')"
case "$(uname -m)" in
  x86_64|amd64) arch=amd64 ;;
  aarch64|arm64) arch=arm64 ;;
  *) die "unsupported architecture $(uname -m)" ;;
esac
if [ -z "$bin_dir" ]; then
  bin_dir="$REPO/build-release/bin"
  cmake -S "$REPO" -B "$REPO/build-release" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
  cmake --build "$REPO/build-release" -j "${JOBS:-2}" --target kubectl-failover >/dev/null
fi
for f in kubectl-failover kubectl_complete-failover; do
  [ -x "$bin_dir/$f" ] || die "$bin_dir/$f is missing or not executable"
done
got="$("$bin_dir/kubectl-failover" --version)"
[ "$got" = "kubectl-failover $version" ] || die "$bin_dir/kubectl-failover --version says '$got', want 'kubectl-failover $version'"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
cp "$bin_dir/kubectl-failover" "$bin_dir/kubectl_complete-failover" "$stage/"
strip "$stage/kubectl-failover" 2>/dev/null || true
cp "$REPO/docs/plugin.md" "$stage/README.md"
archive="kubectl-failover_v${version}_${os}_${arch}.tar.gz"
# Owner, order and times fixed, so the same binary gives the same archive.
tar -C "$stage" --owner=0 --group=0 --numeric-owner --sort=name --mtime=@0 -cf - \
  kubectl-failover kubectl_complete-failover README.md | gzip -n >"$out/$archive"
log "plugin: $archive"
fi

# ---- 3. the krew manifest
if step krew; then
python3 - "$REPO/plugins/failover.yaml" "$out" "$version" <<'PY'
import hashlib, os, sys, yaml
src, out, version = sys.argv[1], sys.argv[2], sys.argv[3]
m = yaml.safe_load(open(src))
kept, left_out = [], []
for p in m["spec"]["platforms"]:
    labels = p["selector"]["matchLabels"]
    name = f"kubectl-failover_v{version}_{labels['os']}_{labels['arch']}.tar.gz"
    path = os.path.join(out, name)
    if not os.path.exists(path):
        left_out.append(f"{labels['os']}/{labels['arch']}")
        continue
    p["sha256"] = hashlib.sha256(open(path, "rb").read()).hexdigest()
    kept.append(p)
if not kept:
    sys.exit("release: no plugin archive in " + out)
m["spec"]["platforms"] = kept
# Multi-line strings (description, caveats) as literal blocks, as in plugins/failover.yaml.
def text(dumper, data):
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|" if "\n" in data else None)
yaml.add_representer(str, text, Dumper=yaml.SafeDumper)
with open(os.path.join(out, "failover.yaml"), "w") as f:
    f.write("# kubectl krew install --manifest-url=<this file's URL>; generated by scripts/release.sh\n")
    yaml.safe_dump(m, f, sort_keys=False, default_flow_style=False, width=1000)
if left_out:
    print("release: krew manifest without " + ", ".join(left_out) + " (no archive here)", file=sys.stderr)
PY
log "krew manifest: failover.yaml"
fi

# ---- 4. the chart
if step chart; then
HELM="${HELM:-$(command -v helm || true)}"
[ -n "$HELM" ] || HELM="$(bash "$REPO/scripts/build-tools.sh" helm)/helm"
[ -x "$HELM" ] || die "no helm (set HELM, put it on PATH, or build it: scripts/build-tools.sh helm)"
"$HELM" lint --strict "$chart" >/dev/null || die "helm lint --strict $chart failed"
mkdir -p "$out/charts"
"$HELM" package "$chart" -d "$out/charts" >/dev/null
packaged="$out/charts/failover-operator-$chart_version.tgz"
[ -f "$packaged" ] || die "helm package did not write $packaged"
"$HELM" repo index "$out/charts" >/dev/null
image="$("$HELM" template release "$packaged" | sed -n 's/^ *image: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' | head -1)"
[ "$image" = "$IMAGE_REPOSITORY:$version" ] || die "the packaged chart's image is '$image', want $IMAGE_REPOSITORY:$version"
log "chart: charts/failover-operator-$chart_version.tgz, index.yaml; image $image"
fi

# ---- 5. the image
if step image; then
  os="$(uname -s | tr '[:upper:]' '[:lower:]')"; arch="$(uname -m | sed 's/x86_64/amd64/; s/aarch64/arm64/')"
  command -v docker >/dev/null || die "no docker: pass --skip-image"
  bash "$REPO/scripts/build-base-images.sh"
  docker build -q -t "$IMAGE_REPOSITORY:$version" -t "failover-operator:$version" "$REPO" >/dev/null
  got="$(docker run --rm "$IMAGE_REPOSITORY:$version" --version 2>&1 | head -1)"
  case "$got" in *"$version"*) ;; *) die "the image's --version says '$got'" ;; esac
  docker image inspect "$IMAGE_REPOSITORY:$version" \
    --format '{{.Id}} {{.Os}}/{{.Architecture}} {{.Size}}' >"$out/image-$os-$arch.txt"
  log "image: $IMAGE_REPOSITORY:$version ($(cat "$out/image-$os-$arch.txt"))"
fi

# ---- 6. checksums
if step sums; then
  (cd "$out" && find . -type f ! -name SHA256SUMS | sed 's|^\./||' | LC_ALL=C sort | xargs sha256sum >SHA256SUMS)
fi
log "done: $out"
