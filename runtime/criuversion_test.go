package runtime

import (
	"reflect"
	"testing"

	"github.com/opencontainers/runc/libcontainer"
)

// A libcontainer upgrade that renames its CRIU version field makes every
// checkpoint and restore start criu once more: fail here instead.
func TestSeedCriuVersion(t *testing.T) {
	c := &libcontainer.Container{}
	if !seedCriuVersion(c, 40201) {
		t.Fatal("libcontainer.Container has no int field criuVersion any more: update seedCriuVersion")
	}
	if got := reflect.ValueOf(c).Elem().FieldByName("criuVersion").Int(); got != 40201 {
		t.Fatalf("criuVersion = %d after seeding 40201", got)
	}
	if seedCriuVersion(c, 0) || seedCriuVersion(nil, 40201) {
		t.Fatal("seeded an unknown version or a nil container")
	}
}
