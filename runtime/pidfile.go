package runtime

import (
	"strconv"

	"github.com/mycr/mycr/internal/atomicfile"
)

// WritePidFile writes pid (digits, no newline) atomically: readers such as
// containerd's shim poll the file and must never see it half written. The
// rename gives that; the file is not synced to disk (no O_SYNC, unlike runc):
// a pid means nothing after a crash, and a synchronous write costs a journal
// commit (~0.7 ms on ext4 here) on every create, run -d and restore -d.
func WritePidFile(path string, pid int) error {
	return atomicfile.Write(path, []byte(strconv.Itoa(pid)), 0o644)
}
