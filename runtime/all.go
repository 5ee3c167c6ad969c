package runtime

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/opencontainers/runc/libcontainer"

	"github.com/mycr/mycr/criu"
)

// Outcome is what happened to one container in an --all operation.
type Outcome struct {
	ID  string
	Dir string
	Err error
}

// CheckpointAll checkpoints every running or paused container of the root into
// imageRoot/<id> (to survive a daemon upgrade or a reboot). A failure is
// reported and the others go on.
func (r *Root) CheckpointAll(imageRoot string, base libcontainer.CriuOpts) ([]Outcome, error) {
	ids, err := r.IDs()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(imageRoot, 0o700); err != nil {
		return nil, err
	}
	var out []Outcome
	for _, id := range ids {
		c, err := r.Load(id)
		if err != nil {
			continue // deleted meanwhile
		}
		if st, err := c.Status(); err != nil || (st != libcontainer.Running && st != libcontainer.Paused) {
			continue
		}
		o := base
		o.ImagesDirectory = filepath.Join(imageRoot, id)
		if base.WorkDirectory != "" {
			o.WorkDirectory = filepath.Join(base.WorkDirectory, id)
		}
		out = append(out, Outcome{ID: id, Dir: o.ImagesDirectory, Err: r.Checkpoint(id, &o)})
	}
	return out, nil
}

// RestoreAll restores every checkpoint in imageRoot/<id> as container <id>,
// detached with mycr's stdio, from the bundle recorded at checkpoint time. A
// terminal container gets its new pty through consoleDir/<id>.sock.
func (r *Root) RestoreAll(imageRoot, consoleDir string, base RestoreOpts) ([]Outcome, error) {
	entries, err := os.ReadDir(imageRoot)
	if err != nil {
		return nil, err
	}
	var out []Outcome
	for _, e := range entries {
		dir := filepath.Join(imageRoot, e.Name())
		if !e.IsDir() || !fileExists(filepath.Join(dir, "inventory.img")) {
			continue
		}
		o := base
		o.Create.ID, o.Create.Bundle = e.Name(), ""
		o.Criu.ImagesDirectory = dir
		o.Launch.IO.Detach = true
		err := r.restoreOne(&o, consoleDir)
		out = append(out, Outcome{ID: e.Name(), Dir: dir, Err: err})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no checkpoint found under %s (expected one directory per container)", imageRoot)
	}
	return out, nil
}

func (r *Root) restoreOne(o *RestoreOpts, consoleDir string) error {
	m, err := criu.ReadMeta(o.Criu.ImagesDirectory)
	if err != nil {
		return fmt.Errorf("cannot tell its bundle: %w", err)
	}
	bundle, s, err := LoadBundle(m.Bundle)
	if err != nil {
		return err
	}
	o.Create.Bundle, o.Create.Spec = bundle, s
	if s.Process.Terminal {
		if consoleDir == "" {
			return errors.New("it has a terminal: pass --console-socket-dir DIR (its pty goes to DIR/<id>.sock)")
		}
		o.Launch.IO.ConsoleSocket = filepath.Join(consoleDir, o.Create.ID+".sock")
	}
	_, err = r.Restore(*o)
	return err
}
