#!/bin/bash
# install-deps.sh - everything mycr needs on a fresh Debian 12 machine:
# CRIU >= 4.2 built from Debian's forky/sid source (bookworm's criu 3.17 does not
# work on kernel 6.x, and 4.1.1 cannot dump INET sockets on kernels >= 6.16),
# plus busybox-static (test/demo rootfs), iptables (CRIU's network lock), and
# openssh-server/-client and iproute2 (migration to another host; the two-host
# tests start their own sshd in a network namespace: the system's sshd is
# never started by this script).
# Idempotent: a good CRIU already installed is kept (FORCE=1 rebuilds).
set -euo pipefail

PREFIX=${PREFIX:-/usr/local}
CRIU_BIN=$PREFIX/sbin/criu
CRIU_VERSION=4.2.1
CRIU_DEBVER=4.2.1-1
CRIU_SHA256=29ec0ee09e296479fe7048c80980e8ef1d0684d0b0204c2b101dfea19f6725b9
SRC_LIST=/etc/apt/sources.list.d/mycr-criu-src.sources
# Where CRIU keeps criu.kdat, its cache of kernel probes, if that dir is a tmpfs.
# Stock CRIU uses /run, which is no tmpfs on hosts without systemd (like these):
# every CRIU run then probes the kernel again (15-45 ms). mycr makes this dir a
# tmpfs (criu/kdat.go); it must match criu.KdatDir.
CRIU_RUNDIR=/run/criu
RUNTIME_DEPS=(busybox-static iptables libseccomp-dev pkg-config openssh-server openssh-client iproute2)
BUILD_DEPS=(build-essential libprotobuf-dev libprotobuf-c-dev protobuf-c-compiler
  protobuf-compiler python3-protobuf libnl-3-dev libnet1-dev libcap-dev pkg-config
  libbsd-dev libaio-dev uuid-dev libgnutls28-dev libnftables-dev)

log() { echo "[install-deps] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root"
export DEBIAN_FRONTEND=noninteractive

apt_update() {
  local i
  for i in 1 2 3 4 5; do apt-get update -qq && return 0; log "apt-get update failed, retry $i"; sleep 5; done
  die "apt-get update failed"
}
apt_install() { apt-get install -y -qq -o DPkg::Lock::Timeout=600 "$@" >/dev/null; }

criu_ok() {
  [ -x "$CRIU_BIN" ] || return 1
  local v; v=$("$CRIU_BIN" --version 2>/dev/null | awk '/^Version:/{print $2}')
  dpkg --compare-versions "${v:-0}" ge 4.2 || return 1
  "$CRIU_BIN" check >/dev/null 2>&1 || return 1
  # Built by an earlier version of this script, with its kernel probe cache in /run.
  grep -qa "$CRIU_RUNDIR/criu.kdat" "$CRIU_BIN" || { log "rebuilding CRIU: its kdat cache is not in $CRIU_RUNDIR"; return 1; }
  log "CRIU $v already installed at $CRIU_BIN"
}

missing=()
for p in "${RUNTIME_DEPS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ "${FORCE:-0}" != 1 ] && criu_ok && [ ${#missing[@]} = 0 ]; then exit 0; fi

# deb-src entries for forky and sid: URIs and Signed-By copied from the system's own source.
SRC=/etc/apt/sources.list.d/debian.sources
[ -r "$SRC" ] || die "$SRC not found: cannot derive the Debian mirror for deb-src"
URI=$(awk '/^URIs:/{print $2; exit}' "$SRC")
KEY=$(awk '/^Signed-By:/{print $2; exit}' "$SRC")
[ -n "$URI" ] || die "no URIs: line in $SRC"
NEW=$(printf 'Types: deb-src\nURIs: %s\nSuites: forky sid\nComponents: main\n%s\n' "$URI" "${KEY:+Signed-By: $KEY}")
if [ "$(cat "$SRC_LIST" 2>/dev/null)" != "$NEW" ]; then echo "$NEW" > "$SRC_LIST"; fi
apt_update
log "installing ${RUNTIME_DEPS[*]} and CRIU build dependencies (from bookworm)"
# Installing openssh-server must not start a system sshd listening on this
# machine's addresses: deny service starts for this install (policy-rc.d).
POLICY=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$POLICY" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$POLICY"; chmod 755 "$POLICY"; made_policy=1
  trap '[ $made_policy = 0 ] || rm -f "$POLICY"' EXIT
fi
apt_install "${RUNTIME_DEPS[@]}"
if [ $made_policy = 1 ]; then rm -f "$POLICY"; made_policy=0; fi

if [ "${FORCE:-0}" = 1 ] || ! criu_ok; then
  apt_install "${BUILD_DEPS[@]}"
  BUILD_DIR=${BUILD_DIR:-/var/cache/mycr/criu-build}
  mkdir -p "$BUILD_DIR"; cd "$BUILD_DIR"
  TAR=criu_$CRIU_VERSION.orig.tar.xz
  if ! echo "$CRIU_SHA256  $TAR" | sha256sum -c --status 2>/dev/null; then
    rm -f "$TAR"
    # The .debian.tar.xz may 404; only the orig tarball is needed.
    apt-get source --download-only "criu=$CRIU_DEBVER" > apt-source.log 2>&1 || true
  fi
  echo "$CRIU_SHA256  $TAR" | sha256sum -c --status 2>/dev/null \
    || die "criu $CRIU_VERSION orig tarball missing or sha256 mismatch (see $BUILD_DIR/apt-source.log)"
  rm -rf "criu-$CRIU_VERSION"; tar xf "$TAR"; cd "criu-$CRIU_VERSION"
  log "building CRIU $CRIU_VERSION (make -j$(nproc) criu)"
  make -j"$(nproc)" criu RUNDIR="$CRIU_RUNDIR" > ../build.log 2>&1 || { tail -30 ../build.log >&2; die "CRIU build failed"; }
  make install-criu PREFIX="$PREFIX" RUNDIR="$CRIU_RUNDIR" > ../install.log 2>&1 || { tail -30 ../install.log >&2; die "CRIU install failed"; }
  "$CRIU_BIN" check >/dev/null || die "$CRIU_BIN check failed after install"
  log "installed $("$CRIU_BIN" --version | awk '/^Version:/{print $2}') at $CRIU_BIN"
fi
