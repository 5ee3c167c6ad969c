package criu

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestLazyFaults(t *testing.T) {
	log := `(00.001000) Received PID: 1, uffd: 7
(00.001200) 1-7: Found 33020 pages to be handled by UFFD
(00.004100) 1-7: #PF at 0x7ffbf7206000
(00.004150) 1-7: uffd_copy: 0x7ffbf7206000/4096
(00.004300) 12-9: #PF at 0x5b5000
(00.004400) 1-7: #PF at 0x6e3d4ea000
(00.004500) 1-7: #PF at 0x7ffbf7206000
(00.004600) 1-7: zero page at 0x7ffbb0a00000
pie: 1: #PF at 0xnothex
(00.004700) x-7: #PF at 0x1000
`
	path := filepath.Join(t.TempDir(), LazyPagesLog)
	if err := os.WriteFile(path, []byte(log), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := LazyFaults(path)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int][]uint64{1: {0x6e3d4ea000, 0x7ffbf7206000}, 12: {0x5b5000}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("LazyFaults = %x, want %x", got, want)
	}
	if _, err := LazyFaults(filepath.Join(t.TempDir(), "missing.log")); err == nil {
		t.Error("a missing log gave no error")
	}
}
