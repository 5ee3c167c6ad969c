#!/bin/bash
# bench.sh - mycr vs runc vs bare CRIU, side by side in one run (interleaved).
# Writes docs/benchmarks.md, docs/bench/results.json and docs/bench/*.png.
# Absolute times on shared 2-core machines are noisy: compare the ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
MYCR=${MYCR:-$PWD/bin/mycr}
RUNS=${RUNS:-7}
WORK=$(mktemp -d /tmp/mycr-bench.XXXXXX)
OUT=docs/bench; mkdir -p "$OUT"
export PATH=/usr/local/sbin:$PATH
RUNC=${RUNC:-/usr/local/lib/mycr-bench/runc}
[ -x "$MYCR" ] || { echo "build mycr first (make build)"; exit 1; }
[ -x "$RUNC" ] || { echo "runc not found at $RUNC (scripts/install-bench-deps.sh builds it)"; exit 1; }
cleanup() {
  for id in $("$MYCR" --root "$WORK/mroot" list -q 2>/dev/null); do "$MYCR" --root "$WORK/mroot" delete -f "$id"; done
  for id in $("$RUNC" --root "$WORK/rroot" list -q 2>/dev/null); do "$RUNC" --root "$WORK/rroot" delete -f "$id"; done
  [ -n "${BARE:-}" ] && kill -9 "$BARE" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# Bundle: busybox, an idle process, own namespaces, writable root.
B=$WORK/bundle; mkdir -p "$B/rootfs/bin"; cp /bin/busybox "$B/rootfs/bin/"
for a in sh sleep true; do ln -s busybox "$B/rootfs/bin/$a"; done
(cd "$B" && "$MYCR" spec)
python3 - "$B/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); c["process"]["terminal"] = False
c["process"]["args"] = ["sleep", "100000"]; c["root"]["readonly"] = False
json.dump(c, open(sys.argv[1], "w"))
PY
cp -a "$B" "$WORK/true-bundle"
python3 - "$WORK/true-bundle/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); c["process"]["args"] = ["true"]; json.dump(c, open(sys.argv[1], "w"))
PY

now() { date +%s%N; }
declare -A T
rec() { T[$1]="${T[$1]:-} $2"; }
time_ms() { local s e; s=$(now); "$@" >/dev/null 2>&1 </dev/null; e=$(now); echo $(( (e - s) / 1000 )); }  # µs

# All runtimes use the same CRIU binary and environment (CRIU_FAULT as mycr decides).
FAULT=$("$MYCR" --root "$WORK/mroot" check 2>/dev/null | awk '/hw breakpoints/ {print $4}')
[ "$FAULT" = broken ] && export CRIU_FAULT=130

for i in $(seq "$RUNS"); do
  # lifecycle: run of `true`
  rec mycr_run_true "$(time_ms "$MYCR" --root "$WORK/mroot" run --bundle "$WORK/true-bundle" t$i)"
  rec runc_run_true "$(time_ms "$RUNC" --root "$WORK/rroot" run --bundle "$WORK/true-bundle" t$i)"
  # checkpoint + restore of an idle container
  "$MYCR" --root "$WORK/mroot" run -d --bundle "$B" m$i </dev/null >/dev/null 2>&1
  "$RUNC" --root "$WORK/rroot" run -d --bundle "$B" r$i </dev/null >/dev/null 2>&1
  sleep 0.3
  # Alternate who goes first: the second run of a pair profits from warm caches.
  order="mycr runc"; [ $((i % 2)) = 0 ] && order="runc mycr"
  for rt in $order; do
    if [ $rt = mycr ]; then rec mycr_checkpoint "$(time_ms "$MYCR" --root "$WORK/mroot" checkpoint --image-path "$WORK/mimg$i" m$i)"
    else rec runc_checkpoint "$(time_ms "$RUNC" --root "$WORK/rroot" checkpoint --image-path "$WORK/rimg$i" r$i)"; fi
  done
  for rt in $order; do
    if [ $rt = mycr ]; then rec mycr_restore "$(time_ms "$MYCR" --root "$WORK/mroot" restore -d --bundle "$B" --image-path "$WORK/mimg$i" m$i)"
    else rec runc_restore "$(time_ms "$RUNC" --root "$WORK/rroot" restore -d --bundle "$B" --image-path "$WORK/rimg$i" r$i)"; fi
  done
  "$MYCR" --root "$WORK/mroot" delete -f m$i; "$RUNC" --root "$WORK/rroot" delete -f r$i
  # bare criu: the floor (a host process, no container around it)
  setsid sleep 100000 </dev/null >/dev/null 2>&1 & BARE=$!
  sleep 0.1; mkdir -p "$WORK/cimg$i"
  rec criu_dump "$(time_ms criu dump -t $BARE -D "$WORK/cimg$i" --shell-job)"
  while [ -e /proc/$BARE ] && ! grep -q Z /proc/$BARE/stat 2>/dev/null; do sleep 0.01; done; wait $BARE 2>/dev/null || true
  rec criu_restore "$(time_ms criu restore -D "$WORK/cimg$i" --shell-job -d --pidfile "$WORK/cpid$i")"
  BARE=$(cat "$WORK/cpid$i" 2>/dev/null || true); [ -n "$BARE" ] && kill -9 "$BARE" 2>/dev/null; BARE=
  rm -rf "$WORK/mimg$i" "$WORK/rimg$i" "$WORK/cimg$i"
done

python3 - "$OUT" "$RUNS" "$($RUNC --version | head -1)" "$($MYCR --version | head -1)" "$(criu --version | awk '/^Version/{print $2}')" "$(uname -r)" \
  "${T[mycr_run_true]}" "${T[runc_run_true]}" "${T[mycr_checkpoint]}" "${T[runc_checkpoint]}" \
  "${T[mycr_restore]}" "${T[runc_restore]}" "${T[criu_dump]}" "${T[criu_restore]}" <<'PY'
import json, statistics, sys, subprocess
out, runs, runc_v, mycr_v, criu_v, kernel = sys.argv[1:7]
names = ["mycr_run_true", "runc_run_true", "mycr_checkpoint", "runc_checkpoint", "mycr_restore", "runc_restore", "criu_dump", "criu_restore"]
data = {n: [int(x) / 1000 for x in v.split()] for n, v in zip(names, sys.argv[7:])}
med = {n: statistics.median(v) for n, v in data.items()}
json.dump({"runs": int(runs), "ms": data, "median_ms": med, "runc": runc_v, "mycr": mycr_v, "criu": criu_v, "kernel": kernel},
          open(out + "/results.json", "w"), indent=2)
rows = [("run of `true`", "mycr_run_true", "runc_run_true", None),
        ("checkpoint, idle busybox", "mycr_checkpoint", "runc_checkpoint", "criu_dump"),
        ("restore, idle busybox", "mycr_restore", "runc_restore", "criu_restore")]
lines = ["# Benchmarks", "", "Generated by `make bench` (bench/bench.sh): %s interleaved runs per case on this machine" % runs,
         "(2 shared cores: absolute times are noisy, ratios from one run count).", "",
         "mycr: %s · runc: %s · CRIU %s · kernel %s. Same CRIU binary and environment for all." % (mycr_v, runc_v, criu_v, kernel), "",
         "| case | mycr median (min–max) ms | runc median (min–max) ms | mycr / runc | bare criu median ms |", "|---|---|---|---|---|"]
for label, m, r, c in rows:
    f = lambda n: "%.0f (%.0f–%.0f)" % (med[n], min(data[n]), max(data[n]))
    lines.append("| %s | %s | %s | %.2f | %s |" % (label, f(m), f(r), med[m] / med[r], "%.0f" % med[c] if c else "–"))
lines += ["", "![medians](bench/medians.png)", "",
          "Bare criu dumps a plain host process (no container, mounts or namespaces): the floor under any runtime.",
          "Not measured yet (issue 6): memory scaling 64 MiB–4 GiB, the JVM slow-start case, crun, migration and archive throughput.", ""]
open(out + "/../benchmarks.md", "w").write("\n".join(lines))
with open(out + "/medians.dat", "w") as f:
    for label, m, r, c in rows:
        f.write('"%s" %.1f %.1f %.1f\n' % (label.replace("`", ""), med[m], med[r], med[c] if c else 0))
gp = """set terminal pngcairo size 900,450
set output '%s/medians.png'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set ylabel 'median ms'
set title 'mycr vs runc vs bare criu (%s runs)'
set key top left
plot '%s/medians.dat' using 2:xtic(1) title 'mycr', '' using 3 title 'runc', '' using 4 title 'bare criu'
""" % (out, runs, out)
subprocess.run(["gnuplot"], input=gp.encode(), check=False)
print("\n".join(lines))
PY
