package criuseed

import (
	"reflect"
	"testing"

	"github.com/opencontainers/runc/libcontainer"
)

// A libcontainer upgrade that renames its CRIU version field makes every
// checkpoint and restore start criu once more: fail here instead.
func TestSeed(t *testing.T) {
	c := &libcontainer.Container{}
	if !Seed(c, 40201) {
		t.Fatal("libcontainer.Container has no int field criuVersion any more: update Seed, or remove it if libcontainer now takes the version")
	}
	if got := reflect.ValueOf(c).Elem().FieldByName("criuVersion").Int(); got != 40201 {
		t.Fatalf("criuVersion = %d after seeding 40201", got)
	}
	if Seed(c, 0) || Seed(nil, 40201) {
		t.Fatal("seeded an unknown version or a nil container")
	}
}
