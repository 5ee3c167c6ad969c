package main

import (
	"slices"
	"testing"
)

// TestReorderFlags: flags after the ID are read as runc reads them; exec's and ps's
// trailing command lines and anything after "--" are left alone.
func TestReorderFlags(t *testing.T) {
	app := newApp()
	for _, c := range []struct{ in, want []string }{
		{[]string{"mycr", "update", "ID", "--pids-limit", "10"}, []string{"mycr", "update", "--pids-limit", "10", "ID"}},
		{[]string{"mycr", "--root", "/r", "kill", "ID", "KILL", "--all"}, []string{"mycr", "--root", "/r", "kill", "--all", "ID", "KILL"}},
		{[]string{"mycr", "restore", "-d", "--image-path", "X", "ID", "--bundle=B"}, []string{"mycr", "restore", "-d", "--image-path", "X", "--bundle=B", "ID"}},
		{[]string{"mycr", "exec", "ID", "sh", "-c", "true"}, []string{"mycr", "exec", "ID", "sh", "-c", "true"}},
		{[]string{"mycr", "ps", "ID", "-ef"}, []string{"mycr", "ps", "ID", "-ef"}},
		{[]string{"mycr", "kill", "ID", "--", "--all"}, []string{"mycr", "kill", "ID", "--", "--all"}},
		{[]string{"mycr", "--debug"}, []string{"mycr", "--debug"}},
	} {
		if got := reorderFlags(app, c.in); !slices.Equal(got, c.want) {
			t.Errorf("reorderFlags(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
