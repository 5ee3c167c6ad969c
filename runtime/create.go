package runtime

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runc/libcontainer/specconv"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/mycr/mycr/spec"
)

// CreateOpts are the knobs of `create`, `run` and `restore` that shape the container.
type CreateOpts struct {
	ID            string
	Bundle        string // absolute bundle directory
	Spec          *specs.Spec
	SystemdCgroup bool
	NoPivot       bool
	NoNewKeyring  bool
	// Hooks run once, before the spec's own, and are not saved with the container.
	Hooks configs.Hooks
}

// LoadBundle reads and validates a bundle; "" means the current directory (as runc).
func LoadBundle(bundle string) (string, *specs.Spec, error) {
	if bundle == "" {
		bundle = "."
	}
	abs, err := filepath.Abs(bundle)
	if err != nil {
		return "", nil, err
	}
	s, err := spec.Load(abs)
	return abs, s, err
}

// Create registers a new container in the root (state dir, cgroup config); nothing runs yet.
func (r *Root) Create(o CreateOpts) (*libcontainer.Container, error) {
	if err := spec.ValidateID(o.ID); err != nil {
		return nil, err
	}
	if o.SystemdCgroup {
		return nil, errors.New("--systemd-cgroup is not supported: this host runs no systemd; drop the flag to use cgroupfs")
	}
	r.Recover(o.ID) // a half container left by a mycr that died (intent.go)
	if r.Exists(o.ID) {
		return nil, fmt.Errorf("container %s already exists: delete it first or pick another ID", o.ID)
	}
	// specconv takes the bundle (and a relative rootfs) from the working directory.
	if err := os.Chdir(o.Bundle); err != nil {
		return nil, err
	}
	config, err := specconv.CreateLibcontainerConfig(&specconv.CreateOpts{
		CgroupName:   o.ID,
		NoPivotRoot:  o.NoPivot,
		NoNewKeyring: o.NoNewKeyring,
		Spec:         o.Spec,
		RootlessEUID: os.Geteuid() != 0,
	})
	if err != nil {
		return nil, fmt.Errorf("%s/%s: %w", o.Bundle, spec.ConfigName, err)
	}
	addOnceHooks(config, o.Hooks) // hooks.go
	c, err := libcontainer.Create(r.Dir, o.ID, config)
	if err != nil {
		return nil, fmt.Errorf("create container %s: %w", o.ID, err)
	}
	return r.seedCriu(c), nil
}
