#!/usr/bin/env bash
# bench-smoke: every benchmark at a tiny size on the test cluster (checks completeness, never speed).
BENCH_SMOKE=1 exec bash "$(dirname "${BASH_SOURCE[0]}")/run.sh" "$@"
