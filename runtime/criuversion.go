package runtime

import (
	"reflect"
	"unsafe"

	"github.com/opencontainers/runc/libcontainer"
)

// seedCriuVersion hands libcontainer the CRIU version mycr already knows (cached
// per criu binary, criu/versioncache.go). Without it every Checkpoint and Restore
// of a freshly loaded Container starts `criu swrk` once more only to ask for the
// version: 5-8 ms per operation. libcontainer keeps the version in an unexported
// field and has no setter; if an upgrade renames the field nothing is seeded
// and libcontainer asks CRIU as before (TestSeedCriuVersion catches that).
func seedCriuVersion(c *libcontainer.Container, version int) bool {
	if c == nil || version <= 0 {
		return false
	}
	f := reflect.ValueOf(c).Elem().FieldByName("criuVersion")
	if !f.IsValid() || f.Kind() != reflect.Int {
		return false
	}
	reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem().SetInt(int64(version))
	return true
}

// seedCriu is seedCriuVersion with this root's CRIU, for every container mycr
// loads or creates (commands that never run CRIU pay ~100 ns).
func (r *Root) seedCriu(c *libcontainer.Container) *libcontainer.Container {
	seedCriuVersion(c, r.criuVersion())
	return c
}
