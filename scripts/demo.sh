#!/bin/bash
# demo.sh MYCR - checkpoint and restore a real busybox container, with timings.
# A counter container writes to a volume and to its stdout pipe; it is checkpointed
# (and disappears), then restored: the counter goes on from where it was.
set -euo pipefail
MYCR=${1:-mycr}
WORK=$(mktemp -d /tmp/mycr-demo.XXXXXX)
ROOT=$WORK/state
ID=demo-counter
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
cleanup() {
  "$MYCR" --root "$ROOT" delete --force "$ID" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

say "mycr check: can checkpoint/restore work on this host?"
"$MYCR" --root "$ROOT" check

say "bundle: busybox rootfs in $WORK/bundle"
mkdir -p "$WORK/bundle/rootfs/bin" "$WORK/volume"
cp /bin/busybox "$WORK/bundle/rootfs/bin/busybox"
for a in sh sleep echo cat; do ln -s busybox "$WORK/bundle/rootfs/bin/$a"; done
(cd "$WORK/bundle" && "$MYCR" spec)
python3 - "$WORK" <<'PY'
import json, sys
work = sys.argv[1]; path = work + "/bundle/config.json"
c = json.load(open(path))
c["process"]["terminal"] = False
c["process"]["args"] = ["sh", "-c", "i=0; while true; do i=$((i+1)); echo $i > /data/count; echo tick $i; sleep 0.1; done"]
c["root"]["readonly"] = False
c["mounts"].append({"destination": "/data", "type": "bind", "source": work + "/volume", "options": ["rbind", "rw"]})
json.dump(c, open(path, "w"), indent=2)
PY

say "run: counter container $ID (stdout is a pipe, as under a daemon)"
t=$(date +%s%N)
# Process substitution gives the container pipes (a host tty could not be checkpointed).
"$MYCR" --root "$ROOT" run -d --bundle "$WORK/bundle" "$ID" </dev/null > >(cat > "$WORK/stdout-before") 2> >(cat >&2)
echo "started in $(ms "$t") ms"; sleep 2
echo "counter is at $(cat "$WORK/volume/count")"

say "checkpoint --image-path $WORK/image"
t=$(date +%s%N)
"$MYCR" --root "$ROOT" checkpoint --image-path "$WORK/image" "$ID"
CP_MS=$(ms "$t")
before=$(cat "$WORK/volume/count")
echo "checkpointed in $CP_MS ms; counter stopped at $before; image $(du -sh "$WORK/image" | cut -f1), mode $(stat -c %a "$WORK/image")"
"$MYCR" --root "$ROOT" list
sleep 1
[ "$(cat "$WORK/volume/count")" = "$before" ] && echo "nothing runs: the counter is still $before"

say "restore --image-path $WORK/image (new stdout pipe)"
t=$(date +%s%N)
"$MYCR" --root "$ROOT" restore -d --bundle "$WORK/bundle" --image-path "$WORK/image" "$ID" </dev/null > >(cat > "$WORK/stdout-after") 2> >(cat >&2)
RS_MS=$(ms "$t")
echo "restored in $RS_MS ms"; sleep 2
after=$(cat "$WORK/volume/count")
echo "counter is at $after (was $before at checkpoint); restored stdout says: $(tail -n1 "$WORK/stdout-after")"
"$MYCR" --root "$ROOT" list
if [ "$after" -gt "$before" ] && grep -q tick "$WORK/stdout-after"; then
  say "OK: checkpoint $CP_MS ms, restore $RS_MS ms; the counter went on from $before to $after"
else
  say "FAILED: the counter did not continue ($before -> $after)"; exit 1
fi
