#!/bin/bash
# failsummary.sh LOG: after a failed `go test -v` run, print each failed test's
# own lines (its t.Errorf/t.Fatalf messages and the commands it ran) again at
# the end of the output, where CI's truncated log still shows them. Parallel
# tests interleave, so lines are attributed by the last === RUN/NAME/CONT header.
set -euo pipefail
log=${1:?usage: failsummary.sh LOG}
awk '
/^=== (RUN|NAME|CONT|PAUSE) / { cur = $3; next }
/^ *--- FAIL: / { failed[$3] = 1; next }
/^ *--- (PASS|SKIP): / { next }
cur != "" && /^ / { n[cur]++; out[cur, n[cur]] = $0 }
END {
	for (t in failed) {
		# A parent fails with its subtest; it has no lines of its own.
		if (!n[t]) continue
		print "==== messages of failed test " t " (" n[t] " lines, last 40)"
		start = n[t] > 40 ? n[t] - 39 : 1
		for (i = start; i <= n[t]; i++) print out[t, i]
	}
}' "$log"
