#!/usr/bin/env bash
# scripts/release.sh, the release workflow's steps run locally (no image: see below), with
# the built plugin and the real helm:
#  - the plugin archive of this platform holds exactly kubectl-failover (which runs and
#    prints the project version), kubectl_complete-failover and README.md (docs/plugin.md);
#    built twice from the same binary it is byte-identical;
#  - failover.yaml is plugins/failover.yaml with this platform's sha256 (that of the
#    archive) and the platforms without an archive left out; it passes the manifest check;
#  - the chart is packaged with an index.yaml naming its version and appVersion, and the
#    packaged chart renders the image ghcr.io/failover-operator/failover-operator:VERSION;
#  - SHA256SUMS verifies every file;
#  - a version mismatch (a tag that is not v+VERSION) and an unknown step are refused.
# The image step (docker build from local base images) is left out here: it builds the
# whole project inside the engine, outside any CPU limit of the test run; run
# `scripts/release.sh --out DIR` by hand for it.
# usage: test-release.sh BIN_DIR
source "$(dirname "$0")/lib.sh"
bin_dir="$(cd "${1:?usage: test-release.sh BIN_DIR}" && pwd)"
use_helm
export HELM
tmp="$(mktemp -d)"
on_exit "rm -rf '$tmp'"
version="$(sed -n 's/^project(failover-operator VERSION \([0-9.]*\).*/\1/p' "$SRC/CMakeLists.txt")"
chart_version="$(sed -n 's/^version: *//p' "$SRC/charts/failover-operator/Chart.yaml")"
os="$(uname -s | tr '[:upper:]' '[:lower:]')"; arch="$(uname -m | sed 's/x86_64/amd64/; s/aarch64/arm64/')"
archive="kubectl-failover_v${version}_${os}_${arch}.tar.gz"

bash "$SRC/scripts/release.sh" --out "$tmp/out" --bin-dir "$bin_dir" --skip-image
log "--- the plugin archive"
expect_eq "archive contents" "README.md kubectl-failover kubectl_complete-failover" "$(tar -tzf "$tmp/out/$archive" | sort | xargs)"
mkdir "$tmp/x"; tar -xzf "$tmp/out/$archive" -C "$tmp/x"
expect_eq "archived plugin version" "kubectl-failover $version" "$("$tmp/x/kubectl-failover" --version)"
cmp -s "$tmp/x/README.md" "$SRC/docs/plugin.md" || fail "README.md in the archive is not docs/plugin.md"
[ -x "$tmp/x/kubectl_complete-failover" ] || fail "kubectl_complete-failover is not executable in the archive"
bash "$SRC/scripts/release.sh" --out "$tmp/again" --bin-dir "$bin_dir" --steps plugin 2>/dev/null
cmp -s "$tmp/out/$archive" "$tmp/again/$archive" || fail "the same binary gave a different archive"
log "ok: $archive (reproducible)"

log "--- the krew manifest"
python3 - "$tmp/out/failover.yaml" "$tmp/out/$archive" "$version" "$os" "$arch" <<'PY' || fail "failover.yaml: $(cat "$tmp/out/failover.yaml")"
import hashlib, sys, yaml
path, archive, version, os_, arch = sys.argv[1:]
m = yaml.safe_load(open(path))
assert m["apiVersion"] == "krew.googlecontainertools.github.com/v1alpha2" and m["kind"] == "Plugin", "header"
assert m["spec"]["version"] == "v" + version, "version"
platforms = m["spec"]["platforms"]
assert [p["selector"]["matchLabels"] for p in platforms] == [{"os": os_, "arch": arch}], platforms
assert platforms[0]["sha256"] == hashlib.sha256(open(archive, "rb").read()).hexdigest(), "sha256"
assert platforms[0]["uri"].endswith(f"/v{version}/kubectl-failover_v{version}_{os_}_{arch}.tar.gz"), "uri"
PY
log "ok: failover.yaml: $os/$arch with the archive's sha256, the platforms not built left out"

log "--- the chart"
[ -f "$tmp/out/charts/failover-operator-$chart_version.tgz" ] || fail "no charts/failover-operator-$chart_version.tgz"
expect_eq "index.yaml" "$chart_version $version" \
  "$(python3 -c 'import sys, yaml; e = yaml.safe_load(open(sys.argv[1]))["entries"]["failover-operator"][0]; print(e["version"], e["appVersion"])' "$tmp/out/charts/index.yaml")"
expect_eq "packaged chart's image" "ghcr.io/failover-operator/failover-operator:$version" \
  "$(hb template r "$tmp/out/charts/failover-operator-$chart_version.tgz" | sed -n 's/^ *image: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' | head -1)"

log "--- checksums"
(cd "$tmp/out" && sha256sum --quiet -c SHA256SUMS) || fail "SHA256SUMS does not verify"
expect_eq "files in SHA256SUMS" "$( (cd "$tmp/out" && find . -type f ! -name SHA256SUMS | wc -l) )" "$(wc -l <"$tmp/out/SHA256SUMS")"

log "--- refusals"
set +e
bash "$SRC/scripts/release.sh" --out "$tmp/bad" --bin-dir "$bin_dir" --skip-image --tag v9.9.9 2>"$tmp/err"; rc=$?
bash "$SRC/scripts/release.sh" --out "$tmp/bad2" --steps plugin,publish 2>"$tmp/err2"; rc2=$?
set -e
[ "$rc" != 0 ] && grep -q "tag v9.9.9 is not v$version" "$tmp/err" || fail "a wrong tag was not refused: $(cat "$tmp/err")"
[ "$rc2" != 0 ] && grep -q "unknown step publish" "$tmp/err2" || fail "an unknown step was not refused: $(cat "$tmp/err2")"
log "PASS"
