#!/bin/bash
# Peers and plotting for `make bench` (idempotent): gnuplot, and runc v1.4.2 built
# from its Go module (the same libcontainer as mycr) into /usr/local/lib/mycr-bench.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
command -v gnuplot >/dev/null || apt-get install -y -qq gnuplot-nox >/dev/null
RUNC=/usr/local/lib/mycr-bench/runc
if ! "$RUNC" --version 2>/dev/null | grep -q '^runc version 1.4.2'; then
  dir=$(mktemp -d)
  trap 'rm -rf "$dir"' EXIT
  printf 'module runcbuild\n\ngo 1.26\n\nrequire github.com/opencontainers/runc v1.4.2\n' > "$dir/go.mod"
  cp "$(dirname "$0")/../go.sum" "$dir/"
  mkdir -p "$(dirname "$RUNC")"
  (cd "$dir" && GOFLAGS=-mod=mod go build -tags seccomp -o "$RUNC" github.com/opencontainers/runc)
fi
"$RUNC" --version | head -1
