package integration

import (
	"path/filepath"
	"testing"
	"time"
)

// TestCheckpointMemfd: a container process holding a memfd checkpoints and
// restores with the memfd's contents (CRIU carries memfds itself; mycr once
// took one for a host file outside the container, and the restore looked for
// "/memfd:NAME (deleted)" on the host and refused).
func TestCheckpointMemfd(t *testing.T) {
	requireCRIU(t)
	e := NewEnv(t)
	p := e.StartMemProg("memfd", 16, "-memfd")
	img := filepath.Join(e.Mkdir("img"), "memfd")
	e.Checkpoint(p.ID, img)
	id := e.ID("memfdback")
	e.RestoreDetached(id, p.Bundle, img)
	e.ExpectMemoryIntact(p, id) // "BAD memfd" fails it
	WaitCounterAbove(t, p.Count, MustCounter(t, p.Count)+3, 10*time.Second)
}
