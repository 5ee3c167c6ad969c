package image

import (
	"errors"
	"fmt"
	"os"

	"github.com/mycr/mycr/criu"
)

// InspectOpts choose what Inspect reads from an image directory.
type InspectOpts struct {
	PS, Files, Sockets, Mounts, Mem, Env bool
}

// Inspection is what a checkpoint holds, decoded with go-criu's crit.
type Inspection struct {
	Dir        string       `json:"dir"`
	ImageBytes int64        `json:"image_bytes"`
	Meta       *criu.Meta   `json:"meta,omitempty"`
	Processes  []Process    `json:"processes,omitempty"`
	Files      []OpenFile   `json:"files,omitempty"`
	Sockets    []Socket     `json:"sockets,omitempty"`
	Mounts     []Mount      `json:"mounts,omitempty"`
	Memory     []TaskMemory `json:"memory,omitempty"`
}

// Inspect decodes an image directory. A corrupt or truncated image gives an
// error naming the directory and the file, never a panic.
func Inspect(dir string, o InspectOpts) (in *Inspection, err error) {
	im := newImages(dir)
	defer func() {
		if recoverCorrupt(im, recover(), &err); err != nil {
			in = nil
		}
	}()
	if err := checkCheckpointDir(im); err != nil {
		return nil, err
	}
	in = &Inspection{Dir: dir, ImageBytes: DirBytes(dir)}
	if m, err := criu.ReadMeta(dir); err == nil {
		in.Meta = m
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	fail := func(what string, err error) error {
		return fmt.Errorf("images in %s: cannot read %s: %w", dir, what, err)
	}
	procs, err := processes(im, o.PS || o.Env, o.Env)
	if err != nil {
		return nil, fail("the process tree", err)
	}
	if o.PS || o.Env {
		in.Processes = procs
	}
	if o.Files || o.Sockets {
		files, sockets, err := openFiles(im, procs)
		if err != nil {
			return nil, fail("open files", err)
		}
		if o.Files {
			in.Files = files
		}
		if o.Sockets {
			in.Sockets = sockets
		}
	}
	if o.Mem {
		if in.Memory, err = memoryMaps(im, procs); err != nil {
			return nil, fail("memory mappings", err)
		}
	}
	if o.Mounts {
		if in.Mounts, err = mounts(im); err != nil {
			return nil, fail("mounts", err)
		}
	}
	return in, nil
}
