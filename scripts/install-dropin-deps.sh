#!/bin/bash
# install-dropin-deps.sh - the daemons the drop-in tests (integration/dropin) start:
# Debian 12's docker.io (dockerd 20.10 + its containerd 1.6), containerd (ctr, the
# runc v2 shim) and podman 4.3 (conmon), plus busybox-static for the test image.
# Idempotent: nothing is done when everything is there. The packages' services are
# NOT started (a policy-rc.d refuses them during the install): the tests start their
# own daemons with private state, and a system dockerd would create docker0.
set -euo pipefail

PKGS=(docker.io containerd podman busybox-static)
BINS=(dockerd /usr/bin/docker containerd ctr containerd-shim-runc-v2 podman conmon /bin/busybox)

log() { echo "[install-dropin-deps] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root"
export DEBIAN_FRONTEND=noninteractive

have_all() {
  local b
  for b in "${BINS[@]}"; do command -v "$b" >/dev/null 2>&1 || return 1; done
  for b in "${PKGS[@]}"; do dpkg -s "$b" >/dev/null 2>&1 || return 1; done
}
if have_all; then
  log "dockerd, containerd and podman already installed"
  exit 0
fi

POLICY=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$POLICY" ]; then
  printf '#!/bin/sh\n# mycr install-dropin-deps.sh: do not start services during the install\nexit 101\n' > "$POLICY"
  chmod 0755 "$POLICY"
  made_policy=1
fi
cleanup() { if [ "$made_policy" = 1 ]; then rm -f "$POLICY"; fi; }
trap cleanup EXIT

for i in 1 2 3 4 5; do apt-get update -qq && break; log "apt-get update failed, retry $i"; sleep 5; done
log "installing ${PKGS[*]}"
apt-get install -y -qq -o DPkg::Lock::Timeout=600 "${PKGS[@]}" >/dev/null \
  || die "apt-get install ${PKGS[*]} failed"
have_all || die "installed, but some of ${BINS[*]} are missing"
log "installed: $(dockerd --version 2>/dev/null | head -1); $(containerd --version 2>/dev/null | head -1); $(podman --version 2>/dev/null)"
