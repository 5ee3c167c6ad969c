// Package runtime manages container lifecycles over runc's libcontainer: the state
// root, per-container locks, stdio and ttys, pid files, checkpoint and restore.
package runtime

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/opencontainers/runc/libcontainer"

	"github.com/mycr/mycr/criu"
	"github.com/mycr/mycr/internal/criuseed"
	"github.com/mycr/mycr/spec"
)

// DefaultRoot is where container state lives unless --root says otherwise.
const DefaultRoot = "/run/mycr"

// Root is a state directory holding one sub-directory per container.
type Root struct {
	Dir string
	// Criu is how CRIU runs here (set by criu.Prepare); nil disables the retry
	// without hardware breakpoints.
	Criu *criu.Env
	// GuardFlags are the global flags (logging) a checkpoint's guard runs with.
	GuardFlags []string
}

// OpenRoot makes dir absolute and creates it 0700 (state may name secrets' paths).
func OpenRoot(dir string) (*Root, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if abs == "/" {
		return nil, errors.New("--root must not be /")
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("create state root %s: %w", abs, err)
	}
	return &Root{Dir: abs}, nil
}

// ErrNotExist is matched by clients (go-runc) through its text "does not exist".
var ErrNotExist = libcontainer.ErrNotExist

// Load opens an existing container, validating the ID before touching disk.
// It only reads: what a mycr that died mid-operation left is Recover's.
func (r *Root) Load(id string) (*libcontainer.Container, error) {
	if err := spec.ValidateID(id); err != nil {
		return nil, err
	}
	c, err := libcontainer.Load(r.Dir, id)
	if errors.Is(err, libcontainer.ErrNotExist) {
		return nil, notExistError(id)
	}
	return r.seedCriu(c), err
}

// Exists tells whether a container's state directory is present.
func (r *Root) Exists(id string) bool {
	_, err := os.Stat(r.StateDir(id))
	return err == nil
}

// StateDir is libcontainer's directory for a container.
func (r *Root) StateDir(id string) string { return filepath.Join(r.Dir, id) }

// IDs lists the containers in the root (hidden entries are mycr's own files).
func (r *Root) IDs() ([]string, error) {
	entries, err := os.ReadDir(r.Dir)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") && spec.ValidateID(e.Name()) == nil {
			ids = append(ids, e.Name())
		}
	}
	sort.Strings(ids)
	return ids, nil
}

// Bundle returns the bundle a container was created from (libcontainer keeps it as a label).
func Bundle(c *libcontainer.Container) string {
	for _, l := range c.Config().Labels {
		if b, ok := strings.CutPrefix(l, "bundle="); ok {
			return b
		}
	}
	return ""
}

// notExistError reads "container <id> does not exist" and matches ErrNotExist.
type notExistError string

func (e notExistError) Error() string   { return "container " + string(e) + " does not exist" }
func (e notExistError) Is(t error) bool { return t == ErrNotExist }

// criuVersion is the version of the CRIU in use, 0 if unknown.
func (r *Root) criuVersion() int {
	if r.Criu == nil {
		return 0
	}
	return r.Criu.Version
}

// seedCriu hands c this root's CRIU version (criuseed: libcontainer would
// otherwise start criu once more to ask), for every container mycr loads or
// creates (commands that never run CRIU pay ~100 ns).
func (r *Root) seedCriu(c *libcontainer.Container) *libcontainer.Container {
	criuseed.Seed(c, r.criuVersion())
	return c
}
