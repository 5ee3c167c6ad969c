package main

import (
	"strings"
	"testing"
)

// A flag given after the container ID reaches the verb as an argument
// (urfave/cli stops reading flags there): every verb that counts its
// arguments says that flags go before them, not only "got 3".
func TestFlagsAfterID(t *testing.T) {
	root := t.TempDir()
	for _, verb := range []string{"checkpoint", "create", "delete", "inspect", "kill", "migrate",
		"pause", "restore", "resume", "run", "start", "state", "update"} {
		args := []string{"mycr", "--root", root, verb, "web1", "--bundle", "/b", "x"}
		err := newApp().Run(args)
		if err == nil {
			t.Errorf("%v succeeded", args)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, "flags go before the arguments") ||
			!strings.Contains(msg, `"--bundle" came after "web1"`) || !strings.Contains(msg, "mycr "+verb+" [flags] <") &&
			!strings.Contains(msg, "mycr "+verb+" [flags] IMAGE_DIR") {
			t.Errorf("%s with a flag after the ID: %v", verb, err)
		}
	}
	// Too many plain arguments keep runc's wording.
	err := newApp().Run([]string{"mycr", "--root", root, "state", "a", "b"})
	if err == nil || !strings.Contains(err.Error(), `"state" requires exactly 1 argument(s), got 2`) {
		t.Errorf("state a b: %v", err)
	}
}
