#!/bin/bash
# install-containerd2.sh - containerd v2 for the drop-in CRI tests
# (integration/dropin/containerd2_test.go): containerd, ctr and the runc v2 shim,
# built from the Go module proxy into /usr/local/lib/mycr-containerd2/VERSION/bin.
# That is off PATH on purpose: Debian's containerd 1.6 (install-dropin-deps.sh)
# stays the one the other drop-in tests and the system run.
# v2.3.7 is the newest containerd whose CRI restores a checkpoint through
# CreateContainer (deprecated in v2.3, removed in v2.4: its RELEASES.md); its CRI
# CheckpointContainer is the same code as v2.4's. MYCR_CONTAINERD2_VERSIONS="v2.3.7
# v2.4.2" builds several (the tests take MYCR_CONTAINERD2_VERSION=...). Idempotent:
# a version already built is kept.
set -euo pipefail

read -r -a VERSIONS <<< "${MYCR_CONTAINERD2_VERSIONS:-v2.3.7}"
PREFIX=${MYCR_CONTAINERD2_PREFIX:-/usr/local/lib/mycr-containerd2}
MOD=github.com/containerd/containerd/v2
export PATH=/usr/local/go/bin:$PATH

log() { echo "[install-containerd2] $*" >&2; }

built() { # built DIR VERSION: the three binaries are there and containerd is VERSION
  [ -x "$1/containerd" ] && [ -x "$1/ctr" ] && [ -x "$1/containerd-shim-runc-v2" ] &&
    "$1/containerd" --version 2>/dev/null | grep -q " $2\b"
}

mkdir -p "$PREFIX"
for v in "${VERSIONS[@]}"; do
  dest=$PREFIX/$v/bin
  if built "$dest" "$v"; then
    log "containerd $v already in $dest"
    continue
  fi
  start=$(date +%s)
  tmp=$(mktemp -d "$PREFIX/.build-$v-XXXXXX")
  chmod 0755 "$tmp"
  trap 'rm -rf "$tmp"' EXIT
  # CGO off, as containerd's release shim: no btrfs snapshotter (needs libbtrfs
  # headers), static binaries. Run from / so no module around us is involved.
  (cd / && GOBIN=$tmp CGO_ENABLED=0 go install -trimpath -tags urfave_cli_no_docs \
    -ldflags "-s -w -X $MOD/version.Version=$v" \
    "$MOD/cmd/containerd@$v" "$MOD/cmd/ctr@$v" "$MOD/cmd/containerd-shim-runc-v2@$v")
  rm -rf "$PREFIX/$v"
  mkdir -p "$PREFIX/$v"
  mv "$tmp" "$dest"
  trap - EXIT
  built "$dest" "$v" || { log "ERROR: built, but $dest/containerd is not $v"; exit 1; }
  log "built containerd $v into $dest in $(( $(date +%s) - start )) s"
done
