#!/usr/bin/env bash
echo "cluster.sh: not yet implemented" >&2; exit 1
