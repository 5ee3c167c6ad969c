#!/bin/bash
# runc-compat.sh [FILE...] - runs runc's own bats integration suite (tests/integration
# of the runc module go.mod requires, from the Go module cache) against bin/mycr and
# against real runc of the same version, and prints pass/fail/skip per file side by
# side. Fails on any test whose outcome differs between the two unless
# scripts/runc-compat-expected.txt lists it with the reason, or mycr passes a test
# that runc fails here (shown, not counted).
#
# FILE is a bats file name without .bats (default: RUNC_COMPAT_FILES or the full set).
# Env: MYCR_BINARY (default bin/mycr), RUNC_COMPAT_WORK (default bin/_runc-compat),
# RUNC_COMPAT_JOBS (bats runs at once, default 2; 1 on cgroup v2, see run_job),
# RUNC_COMPAT_FILE_TIMEOUT (seconds per bats file and runtime, default 1200).
set -euo pipefail
export PATH=/usr/local/go/bin:/usr/local/sbin:$PATH
export DEBIAN_FRONTEND=noninteractive LC_ALL=C
TOP=$(cd "$(dirname "$0")/.." && pwd)
WORK=${RUNC_COMPAT_WORK:-$TOP/bin/_runc-compat} # "_": not a Go package dir
MYCR=${MYCR_BINARY:-$TOP/bin/mycr}
EXPECTED=$TOP/scripts/runc-compat-expected.txt
JOBS=${RUNC_COMPAT_JOBS:-2}
# The full set: every file of tests/integration that runs on this machine, longest
# first so that the parallel jobs end together. Not in it:
# - hooks_so, idmap, ioprio, mounts_propagation, mounts_recursive, scheduler: they
#   need the suite's Debian image (only a download provides it).
# - cgroup_delegation, seccomp-notify-compat, selinux: every test skips here (cgroup
#   v2 only, a kernel older than 5.6, SELinux), for both runtimes.
# (mounts_sshfs runs on a tmpfs where there is no sshfs.)
ALL_FILES="checkpoint run exec update cgroups events kill create start_detached
  memorypolicy seccomp-notify mounts_sshfs hooks userns netdev mounts start_hello delete pause tty ps state list
  capabilities seccomp cpu_affinity timens personality pidfd-socket rlimits mask dev
  env cwd umask root no_pivot debug spec start help version host-mntns"
if [ $# -gt 0 ]; then FILES=("$@"); else read -r -a FILES <<<"$(echo ${RUNC_COMPAT_FILES:-$ALL_FILES})"; fi
log() { echo "[runc-compat] $*" >&2; }
[ "$(id -u)" = 0 ] || { log "run as root (the suite makes real containers)"; exit 1; }
[ -x "$MYCR" ] || { log "$MYCR missing: make build first"; exit 1; }
mkdir -p "$WORK" && WORK=$(realpath "$WORK")
# Each bats run gets a /tmp of its own, which would hide a work dir under /tmp (a
# clone in /tmp): the default moves to /var/tmp then; a given one is refused.
case $WORK/ in /tmp/*)
  [ -z "${RUNC_COMPAT_WORK:-}" ] || { log "RUNC_COMPAT_WORK=$WORK: not under /tmp (each bats run gets a /tmp of its own)"; exit 1; }
  WORK=/var/tmp/mycr-runc-compat-$(echo "$TOP" | md5sum | cut -c1-8)
  mkdir -p "$WORK" && log "work dir $WORK (the clone is under /tmp)" ;;
esac
case $MYCR in /tmp/*)
  mkdir -p "$WORK/bin" && cp "$MYCR" "$WORK/bin/mycr" && MYCR=$WORK/bin/mycr ;;
esac

# bats and jq from Debian; busybox-static is the image (make deps installs it);
# tini reaps the suite's orphans (run_job).
want=()
command -v bats >/dev/null || want+=(bats)
command -v tini >/dev/null || want+=(tini)
command -v jq >/dev/null || want+=(jq)
command -v gawk >/dev/null || want+=(gawk)
[ -x /bin/busybox ] || want+=(busybox-static)
if [ ${#want[@]} -gt 0 ]; then
  log "apt-get install ${want[*]}"
  apt-get update -qq || true
  apt-get install -y -qq -o DPkg::Lock::Timeout=600 "${want[@]}" >/dev/null
fi

# busybox_image TAR: what the suite's busybox image holds that its tests use: busybox
# with its applets in /bin, users and groups (HOME comes from /etc/passwd), /root, /tmp.
busybox_image() {
  local r
  r=$(mktemp -d)
  chmod 755 "$r"
  mkdir -p "$r"/{bin,etc,root,tmp,home,var/spool/mail,var/www,dev,proc,sys}
  chmod 1777 "$r/tmp"
  cp /bin/busybox "$r/bin/busybox"
  for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox "$r/bin/$a"; done
  cat >"$r/etc/passwd" <<'EOP'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
sys:x:3:3:sys:/dev:/bin/false
sync:x:4:100:sync:/bin:/bin/sync
mail:x:8:8:mail:/var/spool/mail:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
operator:x:37:37:Operator:/var:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
EOP
  cat >"$r/etc/group" <<'EOG'
root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
disk:x:6:
wheel:x:10:root
mail:x:12:
www-data:x:33:
users:x:100:
nogroup:x:65534:
EOG
  tar -C "$r" -cf "$1" .
  rm -rf "$r"
}

# The suite as shipped in runc's module (the zip includes tests/), copied so that
# get-images.sh can be replaced and the helper binaries put where helpers.bash looks.
RUNC_VERSION=$(cd "$TOP" && go list -m -f '{{.Version}}' github.com/opencontainers/runc)
MODDIR=$(cd "$TOP" && go mod download -json "github.com/opencontainers/runc@$RUNC_VERSION" | jq -r .Dir)
[ -d "$MODDIR/tests/integration" ] || { log "$MODDIR has no tests/integration"; exit 1; }
SUITE=$WORK/$RUNC_VERSION
if [ ! -e "$SUITE/.ready" ]; then
  rm -rf "$SUITE"
  mkdir -p "$SUITE/tests/cmd/_bin"
  cp -r "$MODDIR/tests/integration" "$SUITE/tests/"
  # What the tests read beside the suite: seccomp-notify.bats runs the agent's
  # example-config script, spec.bats reads runc's go.mod.
  mkdir -p "$SUITE/tests/cmd/seccompagent"
  cp "$MODDIR/tests/cmd/seccompagent/gen-seccomp-example-cfg.sh" "$SUITE/tests/cmd/seccompagent/"
  chmod 755 "$SUITE/tests/cmd/seccompagent/gen-seccomp-example-cfg.sh" # the module zip drops x bits
  cp "$MODDIR/go.mod" "$SUITE/"
  chmod -R u+w "$SUITE"
  build=$(mktemp -d)
  trap 'rm -rf "$build"' EXIT
  printf 'module runccompat\n\ngo 1.26\n\nrequire github.com/opencontainers/runc %s\n' "$RUNC_VERSION" >"$build/go.mod"
  cp "$TOP/go.sum" "$build/"
  log "building runc $RUNC_VERSION and the suite's helpers (recvtty, remap-rootfs, ...)"
  pkg=github.com/opencontainers/runc
  (cd "$build" && GOFLAGS=-mod=mod go build -tags seccomp -o "$SUITE/runc" \
      -ldflags "-X main.gitCommit=$RUNC_VERSION-module" $pkg &&
    GOFLAGS=-mod=mod go build -tags seccomp -o "$SUITE/tests/cmd/_bin/" \
      $pkg/tests/cmd/recvtty $pkg/tests/cmd/remap-rootfs $pkg/tests/cmd/pidfd-kill \
      $pkg/tests/cmd/fs-idmap $pkg/tests/cmd/seccompagent)
  [[ "$("$SUITE/runc" --version)" == "runc version ${RUNC_VERSION#v}"* ]] || { log "built runc is not $RUNC_VERSION"; exit 1; }
  busybox_image "$SUITE/tests/integration/testdata/busybox.tar"
  # In place of the download: the busybox image built from busybox-static. Files
  # that need the Debian image are not in the set.
  printf '#!/bin/sh\necho BUSYBOX_IMAGE=%s\necho DEBIAN_IMAGE=/nonexistent-debian-image\n' \
    "$SUITE/tests/integration/testdata/busybox.tar" >"$SUITE/tests/integration/get-images.sh"
  chmod +x "$SUITE/tests/integration/get-images.sh"
  # checkpoint, netdev and userns.bats move a dummy link into containers; kernels
  # without the dummy driver (no modules here) get a veth end instead, the same for
  # both runtimes (it too goes with the container's network namespace).
  if ! unshare --net ip link add dummy0 type dummy 2>/dev/null; then
    for f in checkpoint netdev userns; do
      sed -i 's/^\tip link add dummy0 type dummy$/\tip link add dummy0 type veth peer name dummy0-peer/' \
        "$SUITE/tests/integration/$f.bats"
      grep -q 'type veth peer name dummy0-peer' "$SUITE/tests/integration/$f.bats" || { log "cannot patch $f.bats"; exit 1; }
    done
  fi
  # netdev.bats moves the link back to "netns 1", the host's namespace: each bats run
  # has a network namespace of its own (see run_job), so back to the test's instead
  # (that of the bats process, $$), or the link would leave the job.
  sed -i 's/^\tip netns exec "$ns_name" ip link set dev dummy0 netns 1$/\tip netns exec "$ns_name" ip link set dev dummy0 netns $$/' \
    "$SUITE/tests/integration/netdev.bats"
  grep -q 'dummy0 netns \$\$$' "$SUITE/tests/integration/netdev.bats" || { log "cannot patch netdev.bats"; exit 1; }
  # The lazy-pages test hangs with either runtime where CRIU's userfaultfd restore
  # cannot work (both wait for ever here): skipped unless RUNC_COMPAT_LAZY is set.
  sed -i '/^@test "checkpoint --lazy-pages and restore" {$/a\
	[ -v RUNC_COMPAT_LAZY ] || skip "runc-compat: hangs with runc and mycr alike where lazy restore cannot work; RUNC_COMPAT_LAZY=1 runs it"' \
    "$SUITE/tests/integration/checkpoint.bats"
  grep -q RUNC_COMPAT_LAZY "$SUITE/tests/integration/checkpoint.bats" || { log "cannot patch checkpoint.bats"; exit 1; }
  touch "$SUITE/.ready"
fi

# run_job NAME BINARY FILE OUT [FILTER]: one bats file (only the tests FILTER matches)
# against one runtime, isolated from the other job running at the same time: a network
# namespace (checkpoint.bats adds a host link "dummy0" per test), and on cgroup v1 a
# cgroup of its own in every hierarchy: the suite's containers without a cgroupsPath
# get paths relative to the runtime's cgroup. The hybrid unified hierarchy gets the
# job's cgroup bind-mounted over it in a mount namespace of the job, as libcontainer
# puts those at /sys/fs/cgroup/unified/NAME. On pure cgroup v2 jobs run one at a time.
run_job() {
  local name=$1 bin=$2 file=$3 out=$4 filter=${5:-} t0=$SECONDS
  local job=runc-compat-$name-$file unified=/sys/fs/cgroup/unified
  (
    if [ ! -e /sys/fs/cgroup/cgroup.controllers ]; then
      for h in /sys/fs/cgroup/*/; do
        mountpoint -q "$h" && [ -e "$h/cgroup.procs" ] || continue
        mkdir -p "$h/$job"
        [ -e "$h/$job/cpuset.cpus" ] && cat "$h/cpuset.cpus" >"$h/$job/cpuset.cpus" && cat "$h/cpuset.mems" >"$h/$job/cpuset.mems"
        echo "$BASHPID" >"$h/$job/cgroup.procs"
      done
    fi
    export BIND_FROM= BIND_TO=$unified
    if mountpoint -q $unified && [ -d "$unified/$job" ]; then
      BIND_FROM=$unified/$job
    fi
    # Under script(1) as runc's CI does: tests with "terminal": true and no console
    # socket use the controlling terminal. Under tini as a child subreaper: the
    # tests' orphans (`exec -d` processes a `delete --force` killed) are reaped at
    # once, as an init does; this host's PID 1 reaps only every few seconds, and
    # the suite waits 2 s for them to vanish (delete.bats, kill.bats: host pidns).
    # No BATS_TEST_TIMEOUT: its watcher is a background job of the test, and tests
    # that `wait` for their own jobs (events, checkpoint --lazy-pages) would wait for
    # it. A hung file is stopped as a whole instead.
    export RUNC=$bin FILTER=$filter
    # checkpoint.bats writes /etc/criu/default.conf (a relative log-file) and never
    # removes it: every later CRIU run on the host would obey it. Give each job an
    # /etc/criu of its own.
    export ETC_CRIU=$WORK/etc-criu-$name-$file
    mkdir -p /etc/criu "$ETC_CRIU"
    # A /tmp of its own too: the suite keeps fixed paths there (seccomp-notify.bats'
    # agent listens on /tmp/seccomp-agent.sock, its pid in /tmp/seccompagent.pid),
    # which the other runtime's job running at the same time would take over. Not
    # under either binary's dir: libcontainer seals /proc/self/exe with an overlayfs
    # of the binary's dir over the state root (in /tmp), and overlayfs refuses
    # nested layers (ELOOP), which run.bats checks.
    export JOB_TMP=$TMPBASE/$name-$file
    rm -rf "$JOB_TMP" && mkdir -p "$JOB_TMP" && chmod 1777 "$JOB_TMP"
    cmd="bats --tap \${FILTER:+--filter \"\$FILTER\"} '$SUITE/tests/integration/$file.bats' >'$out' 2>&1"
    cd "$WORK" # the caller's dir may be under the /tmp that the job hides
    exec timeout -k 10 "${RUNC_COMPAT_FILE_TIMEOUT:-1200}" unshare --net --mount --propagation private sh -c \
      'mount --bind "$ETC_CRIU" /etc/criu && mount --bind "$JOB_TMP" /tmp || exit 1; [ -z "$BIND_FROM" ] || mount --bind "$BIND_FROM" "$BIND_TO" || exit 1; exec tini -s -- script -qec "$0" /dev/null' "$cmd"
  ) </dev/null >/dev/null 2>&1 || true
  # The job's cgroups, with what tests left in them (sub-cgroups of finished containers).
  for h in /sys/fs/cgroup/*/; do
    [ -d "$h/$job" ] && find "$h/$job" -depth -type d -exec rmdir {} \; 2>/dev/null || true
  done
  rm -rf "$TMPBASE/$name-$file" 2>/dev/null || true
  echo $((SECONDS - t0)) >"$out.seconds"
}

# run_all DIR [FILTERS_DIR [JOBS]]: every file against both runtimes, JOBS at once
# (default $JOBS); with FILTERS_DIR only the files that have a filter there, only
# those tests. Every file runs beside others, checkpoint.bats too (CRIU under mycr
# dumps through the job's bind mount of the unified hierarchy: criu/host/cgyard.go).
run_all() {
  local dir=$1 filters=${2:-} max=${3:-$JOBS} f rt filter bin
  mkdir -p "$dir/mycr" "$dir/runc"
  for f in "${FILES[@]}"; do
    filter=
    if [ -n "$filters" ]; then
      grep -q . "$filters/$f" || continue
      filter=$(cat "$filters/$f")
    fi
    for rt in mycr runc; do
      while [ "$(jobs -rp | wc -l)" -ge "$max" ]; do wait -n || true; done
      if [ $rt = mycr ]; then bin=$MYCR; else bin=$SUITE/runc; fi
      run_job $rt "$bin" "$f" "$dir/$rt/$f.tap" "$filter" &
    done
  done
  wait
}

# tap_status TAP: "name<TAB>pass|fail|skip" per test of a bats TAP log, sorted.
tap_status() {
  sed -nE -e 's/^ok [0-9]+ (.*) # skip.*/\1\tskip/p;t' -e 's/^ok [0-9]+ (.*)/\1\tpass/p;t' \
    -e 's/^not ok [0-9]+ (.*)/\1\tfail/p' "$1" | sort -t $'\t' -k1,1
}
# differing DIR FILE: "name<TAB>mycr<TAB>runc" for each test whose outcomes differ.
differing() {
  join -t $'\t' -a1 -a2 -e none -o 0,1.2,2.2 <(tap_status "$1/mycr/$2.tap") <(tap_status "$1/runc/$2.tap") |
    awk -F'\t' '$2 != $3'
}
# retried RUNTIME FILE NAME: the test's outcome in the second run, if it ran again.
retried() {
  [ -e "$RESULTS/retry/$1/$2.tap" ] || return 0
  tap_status "$RESULTS/retry/$1/$2.tap" | awk -F'\t' -v n="$3" '$1 == n { print $2 }'
}
expected_reason() { awk -F' [|] ' -v f="$1" -v n="$2" '$1 == f && $2 == n { print $3 }' "$EXPECTED"; }
count() { tap_status "$1" | grep -c "	$2\$" || true; }

RESULTS=$WORK/results
rm -rf "$RESULTS"
TMPBASE=$(mktemp -d /var/tmp/runc-compat.XXXXXX) # the jobs' /tmp dirs (see run_job)
trap 'rm -rf "${build:-}" "$TMPBASE"' EXIT
[ -e /sys/fs/cgroup/cgroup.controllers ] && JOBS=1
for f in "${FILES[@]}"; do
  [ -e "$SUITE/tests/integration/$f.bats" ] || { log "no such bats file: $f"; exit 1; }
done
start=$(date +%s)
log "$(${MYCR} --version | head -1) vs $("$SUITE/runc" --version | head -1); ${#FILES[@]} files, $JOBS at once"
run_all "$RESULTS"

# Unlisted differences run once more (both runtimes, only those tests, one bats run at
# a time): on a loaded machine a test can fail once for either runtime, mostly from
# the load of the parallel jobs. A difference counts if it repeats.
mkdir -p "$RESULTS/filters"
for f in "${FILES[@]}"; do
  differing "$RESULTS" "$f" | while IFS=$'\t' read -r name _ _; do
    [ -n "$(expected_reason "$f" "$name")" ] || printf '%s\n' "$name"
  done | sed 's/[][\\.*^$+?(){}|]/\\&/g' | paste -sd'|' | sed -E 's/.+/^(&)$/' >"$RESULTS/filters/$f"
done
if [ -n "$(cat "$RESULTS"/filters/*)" ]; then
  log "running the differing tests again: $(cd "$RESULTS/filters" && grep -l . * | tr '\n' ' ')"
  run_all "$RESULTS/retry" "$RESULTS/filters" 1
fi
took=$(($(date +%s) - start))

unexpected=0
printf '%-16s %-26s | %s\n' FILE "mycr pass/fail/skip (s)" "runc pass/fail/skip (s)"
for f in "${FILES[@]}"; do
  m=$RESULTS/mycr/$f.tap r=$RESULTS/runc/$f.tap
  printf '%-16s %4d %4d %4d %5ss %5s | %4d %4d %4d %5ss\n' "$f" "$(count "$m" pass)" "$(count "$m" fail)" "$(count "$m" skip)" \
    "$(cat "$m.seconds" 2>/dev/null)" "" "$(count "$r" pass)" "$(count "$r" fail)" "$(count "$r" skip)" "$(cat "$r.seconds" 2>/dev/null)"
  if [ -z "$(tap_status "$m")" ] || [ -z "$(tap_status "$r")" ]; then
    echo "    NO RESULTS (see $m and $r)"; unexpected=$((unexpected + 1)); continue
  fi
  # Every test whose outcome differs: listed with a reason, flaky, or a difference.
  while IFS=$'\t' read -r name mo ro; do
    reason=$(expected_reason "$f" "$name")
    am=$(retried mycr "$f" "$name") ar=$(retried runc "$f" "$name")
    if [ -n "$reason" ]; then
      echo "    expected: $name: mycr $mo, runc $ro ($reason)"
    elif [ -n "$am" ] && [ "$am" = "$ar" ]; then
      echo "    flaky:    $name: mycr $mo, runc $ro; both $am when run again"
    elif [ "$mo" = fail ] && [ "$am" = pass ]; then
      # mycr passed it once: a difference must repeat (runc may fail it in turn).
      echo "    flaky:    $name: mycr $mo, runc $ro; again: mycr $am, runc ${ar:-none}"
    elif [ "$mo" = pass ] && [ "${am:-pass}" = pass ] && [ "$ro" = fail ]; then
      # The bar is "mycr passes what runc passes": a test only runc fails here (a
      # limit the two parallel jobs share, such as the realtime CPU budget) is shown.
      echo "    runc only: $name: mycr $mo, runc $ro; again: mycr ${am:-none}, runc ${ar:-none}"
    else
      echo "    DIFFERS:  $name: mycr $mo, runc $ro; again: mycr ${am:-none}, runc ${ar:-none}"
      unexpected=$((unexpected + 1))
    fi
  done < <(differing "$RESULTS" "$f")
done
log "took ${took}s; logs in $RESULTS/{mycr,runc}/FILE.tap (retries in $RESULTS/retry)"
if [ $unexpected -gt 0 ]; then
  log "$unexpected difference(s) from runc not in $EXPECTED"; exit 1
fi
log "mycr matches runc $RUNC_VERSION on ${#FILES[@]} files (apart from the listed intended differences)"
