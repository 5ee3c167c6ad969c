package runtime

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/opencontainers/runc/libcontainer"

	"github.com/mycr/mycr/criu"
)

// Outcome is what happened to one container in an --all operation.
type Outcome struct {
	ID   string
	Dir  string
	Err  error
	Skip string // why the entry was left alone, when that is no failure
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
	imageRoot, err := filepath.Abs(imageRoot)
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(imageRoot)
	if err != nil {
		return nil, err
	}
	var out []Outcome
	for _, e := range entries {
		dir := filepath.Join(imageRoot, e.Name())
		if skip := r.notRestorable(e, dir); skip != nil {
			out = append(out, *skip)
			continue
		}
		o := base
		o.Create.ID, o.Create.Bundle = e.Name(), ""
		o.Checkpoint = OpenCheckpoint(dir)
		o.Launch.IO.Detach = true
		err := r.restoreOne(&o, consoleDir)
		out = append(out, Outcome{ID: e.Name(), Dir: dir, Err: err})
	}
	if !slices.ContainsFunc(out, func(o Outcome) bool { return o.Skip == "" }) {
		return out, fmt.Errorf("no checkpoint found under %s (expected one directory per container)", imageRoot)
	}
	return out, nil
}

func (r *Root) restoreOne(o *RestoreOpts, consoleDir string) error {
	m := o.Checkpoint.Meta
	if m == nil {
		return fmt.Errorf("cannot tell its bundle: %w", o.Checkpoint.MetaErr)
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
	if _, err = r.Restore(*o); err != nil || !m.Paused {
		return err
	}
	return r.pauseRestored(o.Create.ID)
}

// pauseRestored freezes a container restored from a checkpoint of a paused
// one. CRIU could restore the freezer state itself only where it also restores
// cgroup properties, which mycr leaves to libcontainer; the restored processes
// run for the moment between CRIU's return and the freeze.
func (r *Root) pauseRestored(id string) error {
	c, lock, err := r.LoadForChange(id, "pause")
	if err == nil {
		defer lock.Unlock()
		err = c.Pause()
	}
	if err != nil {
		return fmt.Errorf("restored, but not paused again as it was (it runs; `mycr pause %s`): %w", id, err)
	}
	return nil
}

// notRestorable says why an entry of the image root is no checkpoint to
// restore: a failure when it is the directory of a container whose
// checkpoint failed and that is not running any more, only a note otherwise.
func (r *Root) notRestorable(e os.DirEntry, dir string) *Outcome {
	if fileExists(filepath.Join(dir, "inventory.img")) && e.IsDir() {
		return nil
	}
	o := &Outcome{ID: e.Name(), Dir: dir}
	switch {
	case !e.IsDir():
		o.Skip = "not a directory"
	case !fileExists(filepath.Join(dir, criu.MetaName)) && !fileExists(filepath.Join(dir, "dump.log")):
		o.Skip = "not a checkpoint directory"
	case r.Exists(e.Name()):
		o.Skip = fmt.Sprintf("it holds no checkpoint (its checkpoint failed, see %s) and container %s still exists", filepath.Join(dir, "dump.log"), e.Name())
	default:
		o.Err = fmt.Errorf("%s holds no checkpoint (inventory.img missing): the checkpoint of %s failed, see %s", dir, e.Name(), filepath.Join(dir, "dump.log"))
	}
	return o
}
