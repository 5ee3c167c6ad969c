package migrate

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/opencontainers/runc/libcontainer"
)

// A lazy dump through libcontainer runs a lazy-pages feature check (one
// `criu swrk`) before the dump: with the container frozen beforehand (as
// Root.Dump does), that check counts as downtime. Instead CRIU runs this
// action script at its "pre-dump" action, which comes before CRIU looks at the
// freezer: the script freezes the cgroup and waits (bounded) until it is
// frozen, so CRIU finds it frozen and skips its own freezing, which polls in
// 100 ms steps. If the script cannot finish freezing, CRIU sees FREEZING and
// seizes the tasks itself; if the dump fails, the caller thaws as before.
const lateFreezeScript = `[ "$CRTOOLS_SCRIPT_ACTION" = pre-dump ] || exit 0
state=$1 freeze=$2 want=$3 events=$4
echo "$freeze" > "$state" || exit 1
i=0
while [ $i -lt 20000 ]; do
	if [ -n "$events" ]; then
		while read -r k v; do [ "$k" = frozen ] && [ "$v" = 1 ] && exit 0; done < "$events"
	else
		read -r s < "$state"; [ "$s" = "$want" ] && exit 0
	fi
	i=$((i+1))
done
exit 0
`

// lateFreeze writes the action script for the container's freezer into a
// private directory and returns the CRIU configuration line that runs it
// ("" when the container has no freezer: then CRIU freezes it as usual).
func lateFreeze(st *libcontainer.State) (line string, undo func(), err error) {
	var args string
	if p := st.CgroupPaths["freezer"]; p != "" {
		args = fmt.Sprintf("%q FROZEN FROZEN ''", filepath.Join(p, "freezer.state"))
	} else if p := st.CgroupPaths[""]; p != "" {
		args = fmt.Sprintf("%q 1 1 %q", filepath.Join(p, "cgroup.freeze"), filepath.Join(p, "cgroup.events"))
	} else {
		return "", func() {}, nil
	}
	dir, err := os.MkdirTemp("", "mycr-freeze-")
	if err != nil {
		return "", nil, err
	}
	script := filepath.Join(dir, "freeze.sh")
	body := "#!/bin/sh\nset -- " + args + "\n" + lateFreezeScript
	if err := os.WriteFile(script, []byte(body), 0o700); err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	return "action-script " + script, func() { os.RemoveAll(dir) }, nil
}
