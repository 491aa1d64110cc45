#!/usr/bin/env bash
# plugins/failover.yaml, the krew manifest: the fields krew requires, the plugin's name as
# the file's, the project's version, and one platform for each of linux and darwin on amd64
# and arm64 pointing at the release archive the release step publishes (its name, the
# placeholder sha256 it fills in, the files the archive holds).
source "$(dirname "$0")/lib.sh"
version="$(sed -n 's/^project(failover-operator VERSION \([0-9.]*\).*/\1/p' "$SRC/CMakeLists.txt")"
[ -n "$version" ] || fail "no project version in CMakeLists.txt"
python3 - "$SRC/plugins/failover.yaml" "v$version" <<'PY' || fail "plugins/failover.yaml is not what krew and the release step expect"
import re, sys, yaml
path, version = sys.argv[1], sys.argv[2]
m = yaml.safe_load(open(path))
errors = []
def want(cond, what):
    if not cond: errors.append(what)
want(m.get("apiVersion") == "krew.googlecontainertools.github.com/v1alpha2", "apiVersion")
want(m.get("kind") == "Plugin", "kind")
want(m.get("metadata", {}).get("name") == "failover", "metadata.name is the file's name (failover)")
spec = m.get("spec", {})
want(spec.get("version") == version, f"spec.version is {version} (CMakeLists.txt)")
for f in ("homepage", "shortDescription", "description"):
    want(bool(spec.get(f)), f"spec.{f}")
base = "https://github.com/failover-operator/failover-operator/releases/download"
seen = set()
for p in spec.get("platforms", []):
    labels = p.get("selector", {}).get("matchLabels", {})
    os_, arch = labels.get("os"), labels.get("arch")
    seen.add((os_, arch))
    want(p.get("uri") == f"{base}/{version}/kubectl-failover_{version}_{os_}_{arch}.tar.gz", f"{os_}/{arch}: uri")
    want(p.get("sha256") == f"@SHA256_{str(os_).upper()}_{str(arch).upper()}@", f"{os_}/{arch}: sha256 placeholder")
    want(p.get("bin") == "kubectl-failover", f"{os_}/{arch}: bin")
    files = {f.get("from") for f in p.get("files", [])}
    want(files == {"kubectl-failover", "kubectl_complete-failover", "README.md"}, f"{os_}/{arch}: files")
want(seen == {(o, a) for o in ("linux", "darwin") for a in ("amd64", "arm64")}, f"platforms: {sorted(seen)}")
for e in errors: print("plugins/failover.yaml:", e, file=sys.stderr)
sys.exit(1 if errors else 0)
PY
log "ok: plugins/failover.yaml"
