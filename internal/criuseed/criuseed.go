// Package criuseed hands libcontainer the CRIU version mycr already knows, the
// one place where mycr writes into libcontainer's internals (reflect+unsafe),
// kept apart so that runtime/ has no unsafe.
//
// Why: without it every Checkpoint and Restore of a freshly loaded
// libcontainer.Container starts `criu swrk` once more only to ask for the
// version (Container.checkCriuVersion): 5-8 ms per operation. libcontainer
// v1.4.2 keeps the version in the unexported field Container.criuVersion and
// has no setter, option or environment variable for it.
//
// How to remove it: once libcontainer takes the version from its caller (an
// upstream change such as a `CriuVersion int` in CriuOpts, or a
// `Container.SetCriuVersion(int)` — neither exists in v1.4.2), set it there
// and delete this package; Seed's only caller is runtime.Root.seedCriu.
package criuseed

import (
	"reflect"
	"unsafe"

	"github.com/opencontainers/runc/libcontainer"
)

// Seed stores version (CRIU's, e.g. 40201) in c so that libcontainer does not
// ask CRIU for it. It reports whether it did: not for a nil container or an
// unknown version, nor if a libcontainer upgrade renamed the field (then
// libcontainer asks CRIU as before; TestSeed catches that).
func Seed(c *libcontainer.Container, version int) bool {
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
