#!/usr/bin/env bash
# Every value in the chart's values.yaml is documented: each key has a comment line
# directly above it, or sits under a documented key (whose default is a whole block),
# or is a bare section header (key with no inline value) whose keys are documented.
# usage: check-values-documented.sh [values.yaml]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
file="${1:-$root/charts/failover-operator/values.yaml}"
awk '
  /^[[:space:]]*$/ { next }
  /^[[:space:]]*#/ { prev_comment = 1; next }
  /^[[:space:]]*-/ { prev_comment = 0; next }
  match($0, /^ *[A-Za-z0-9_.-]+:/) {
    keylen = RLENGTH
    indent = match($0, /[^ ]/) - 1
    key = substr($0, indent + 1, keylen - indent - 1)
    while (depth > 0 && indents[depth] >= indent) depth--
    inherited = 0
    for (i = 1; i <= depth; i++) if (documented[i]) inherited = 1
    header = ($0 ~ /:[[:space:]]*$/)
    ok = prev_comment || inherited || header
    if (!ok) { printf "%s:%d: value %s has no documentation comment\n", FILENAME, NR, key; bad = 1 }
    depth++; indents[depth] = indent; documented[depth] = prev_comment || inherited
    prev_comment = 0
    next
  }
  { prev_comment = 0 }
  END { exit bad }
' "$file"
echo "check-values-documented: every value in $(basename "$file") is documented"
