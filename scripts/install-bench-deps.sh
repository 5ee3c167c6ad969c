#!/bin/bash
# install-bench-deps.sh - what `make bench` needs besides `make deps` (idempotent):
# gnuplot (plots), gcc + static libc (the memory workload), OpenJDK 17 (the
# slow-start JVM workload), Debian's crun (a peer, if it can run here), and
# runc v1.4.2 built from its Go module (the same libcontainer as mycr) into
# /usr/local/lib/mycr-bench/runc.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
log() { echo "[install-bench-deps] $*" >&2; }
[ "$(id -u)" = 0 ] || { log "run as root"; exit 1; }

want=()
command -v gnuplot >/dev/null || want+=(gnuplot-nox)
command -v gcc >/dev/null || want+=(gcc)
[ -e /usr/lib/x86_64-linux-gnu/libc.a ] || [ -e /usr/lib/aarch64-linux-gnu/libc.a ] || want+=(libc6-dev)
[ -x /usr/lib/jvm/java-17-openjdk-"$(dpkg --print-architecture)"/bin/javac ] || want+=(openjdk-17-jdk-headless)
command -v crun >/dev/null || want+=(crun)
if [ ${#want[@]} -gt 0 ]; then
  log "apt-get install ${want[*]}"
  apt-get update -qq || true
  apt-get install -y -qq -o DPkg::Lock::Timeout=600 "${want[@]}" >/dev/null
fi

RUNC=/usr/local/lib/mycr-bench/runc
if ! "$RUNC" --version 2>/dev/null | grep -q '^runc version 1.4.2'; then
  export PATH=/usr/local/go/bin:$PATH
  dir=$(mktemp -d)
  trap 'rm -rf "$dir"' EXIT
  printf 'module runcbuild\n\ngo 1.26\n\nrequire github.com/opencontainers/runc v1.4.2\n' > "$dir/go.mod"
  cp "$(dirname "$0")/../go.sum" "$dir/"
  mkdir -p "$(dirname "$RUNC")"
  (cd "$dir" && GOFLAGS=-mod=mod go build -tags seccomp -o "$RUNC" github.com/opencontainers/runc)
fi
log "$("$RUNC" --version | head -1) at $RUNC; crun: $(crun --version 2>/dev/null | head -1)"
