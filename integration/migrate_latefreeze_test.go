package integration

import "testing"

// TestMigrateLazyDumpFailsAfterLateFreeze: the lazy dump's source is frozen by
// mycr's action script at CRIU's pre-dump action (runtime/migrate/latefreeze.go);
// a dump that fails after that (CRIU's fault injection 3: the memory dump
// fails, the cgroup already frozen) leaves the source running and thawed, and
// mycr falls back to stop-and-copy.
func TestMigrateLazyDumpFailsAfterLateFreeze(t *testing.T) {
	requireCRIU(t)
	src, dst := NewEnv(t), NewEnv(t)
	wrapper := criuWrapper(t, src, `case "$1 $CRIU_CONFIG_FILE" in "swrk "*/mycr-criu.conf) export CRIU_FAULT=3;; esac`)
	p := src.StartMemProg("latefreeze", 64)
	migrateFallingBack(t, src, dst, wrapper, p, "lazy migration failed before the switch: criu failed: type DUMP",
		"the container is running, falling back to stop-and-copy")
}
