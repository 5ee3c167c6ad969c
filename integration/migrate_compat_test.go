package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestCompatRestoreRefusesForeignImages: a checkpoint whose metadata says it
// came from another architecture, a newer mycr image format or a newer CRIU, or
// needs lazy pages on a host whose CRIU has no userfaultfd, is refused before
// anything is created, with an error naming the problem; the untouched images
// then restore normally.
func TestCompatRestoreRefusesForeignImages(t *testing.T) {
	requireCRIU(t)
	e := NewEnv(t)
	c := e.StartCounter("compat")
	img := filepath.Join(e.Dir, "image")
	e.Checkpoint(c.ID, img)
	last := ExpectCounterStill(t, c.Count, 300*time.Millisecond)
	metaPath := filepath.Join(img, "mycr-checkpoint.json")
	orig, err := os.ReadFile(metaPath)
	if err != nil {
		t.Fatal(err)
	}
	noUffd := criuWrapper(t, e, noUffdNoncoop)
	cases := []struct {
		name   string
		field  string
		value  any
		global []string // flags before the command
		words  []string // the error must mention all of them
	}{
		{"arch", "arch", "s390x", nil, []string{"taken on s390x", "cannot be restored here"}},
		{"format", "format", 99, nil, []string{"format 99", "newer than this mycr understands", "upgrade mycr"}},
		{"criu", "criuVersion", 990000, nil, []string{"CRIU 99.0", "install CRIU >= 99.0"}},
		{"lazy", "lazyPages", true, []string{"--criu", noUffd}, []string{"userfaultfd", "lazy pages", "uffd-noncoop"}},
	}
	for _, tc := range cases {
		var m map[string]any
		if err := json.Unmarshal(orig, &m); err != nil {
			t.Fatal(err)
		}
		m[tc.field] = tc.value
		b, _ := json.Marshal(m)
		if err := os.WriteFile(metaPath, b, 0o600); err != nil {
			t.Fatal(err)
		}
		args := append(append([]string{}, tc.global...), "restore", "-d", "--bundle", c.Bundle, "--image-path", img, c.ID)
		r := e.MustFail(args...)
		t.Logf("%s: %s", tc.name, r.Stderr)
		for _, w := range tc.words {
			expectMentions(t, r, tc.name, w)
		}
		e.ExpectNoState("after a refused " + tc.name + " restore")
	}
	if err := os.WriteFile(metaPath, orig, 0o600); err != nil {
		t.Fatal(err)
	}
	ExpectCounterStill(t, c.Count, 100*time.Millisecond)
	e.RestoreDetached(c.ID, c.Bundle, img)
	WaitCounterAbove(t, c.Count, last+3, 5*time.Second)
}
