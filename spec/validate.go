package spec

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// MaxIDLength keeps IDs usable as file and cgroup names: a name may have 255
// bytes (NAME_MAX), and mycr adds up to 24 to an ID in the names of its
// scratch dirs (".import-ID-123456789", "mycr-migrate-ID-123456789").
// runc has no limit of its own and fails at mkdir past 255.
const MaxIDLength = 200

// ValidateID checks a container ID before anything touches disk: it becomes a directory
// name under the state root and part of cgroup paths, so it must not escape them.
func ValidateID(id string) error {
	switch {
	case id == "":
		return errors.New("container id cannot be empty")
	case len(id) > MaxIDLength:
		return fmt.Errorf("invalid container id %.32q... (%d characters): at most %d characters are allowed", id, len(id), MaxIDLength)
	case id == "." || id == "..":
		return fmt.Errorf("invalid container id %q: must not be %q or %q", id, ".", "..")
	case strings.HasPrefix(id, "."):
		return fmt.Errorf("invalid container id %q: must not start with a dot", id)
	}
	for _, r := range id {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			r == '_' || r == '-' || r == '.' || r == '+'
		if !ok {
			return fmt.Errorf("invalid container id %q: only letters, digits and _ - . + are allowed", id)
		}
	}
	return nil
}

// Validate checks what the runtime needs from a spec before creating anything.
// bundle is the absolute bundle directory; a relative root.path is taken from it.
func Validate(s *specs.Spec, bundle string) error {
	if s.Root == nil || s.Root.Path == "" {
		return errors.New("root.path is missing: set it to the container's root filesystem")
	}
	rootfs := s.Root.Path
	if !filepath.IsAbs(rootfs) {
		rootfs = filepath.Join(bundle, rootfs)
	}
	st, err := os.Stat(rootfs)
	if err != nil {
		return fmt.Errorf("root filesystem %s: %w", rootfs, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("root filesystem %s is not a directory", rootfs)
	}
	if s.Linux == nil {
		return errors.New("linux section is missing: mycr only runs Linux containers")
	}
	return ValidateProcess(s.Process)
}

// ValidateProcess checks the process section (also used by `exec --process`).
func ValidateProcess(p *specs.Process) error {
	switch {
	case p == nil:
		return errors.New("process property must not be empty")
	case p.Cwd == "":
		return errors.New("process.cwd must not be empty")
	case !filepath.IsAbs(p.Cwd):
		return fmt.Errorf("process.cwd %q must be an absolute path", p.Cwd)
	case len(p.Args) == 0:
		return errors.New("process.args must not be empty")
	}
	return nil
}
