package migrate

import (
	"bufio"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestPipeSizeProblem: without CAP_SYS_RESOURCE a lazy migration works when
// fs.pipe-max-size is big enough or mycr may raise it, and otherwise says why.
func TestPipeSizeProblem(t *testing.T) {
	writable := func() error { return nil }
	readOnly := func() error { return os.ErrPermission }
	cases := []struct {
		name     string
		cur      int
		readErr  error
		writable func() error
		want     string // "" or a part of the reason
	}{
		{"big enough", lazyPipeSize, nil, readOnly, ""},
		{"raisable", 1 << 20, nil, writable, ""},
		{"stuck", 1 << 20, nil, readOnly, "fs.pipe-max-size is 1048576, CAP_SYS_RESOURCE is not available"},
		{"unreadable", 0, errors.New("no procfs"), writable, "cannot read /proc/sys/fs/pipe-max-size: no procfs"},
	}
	for _, c := range cases {
		got := pipeSizeProblem(c.cur, c.readErr, c.writable)
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

// TestHasCap reads the same effective capability set the kernel reports.
func TestHasCap(t *testing.T) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	var eff uint64
	for sc := bufio.NewScanner(f); sc.Scan(); {
		if v, ok := strings.CutPrefix(sc.Text(), "CapEff:"); ok {
			eff, _ = strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
	}
	for _, c := range []uint{0, capSysResource, 40} {
		if got, want := hasCap(c), eff&(1<<c) != 0; got != want {
			t.Errorf("hasCap(%d) = %v, CapEff %#x says %v", c, got, eff, want)
		}
	}
}
