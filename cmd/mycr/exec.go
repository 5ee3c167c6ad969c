package main

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/opencontainers/runc/libcontainer"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli/v2"

	"github.com/mycr/mycr/runtime"
	"github.com/mycr/mycr/spec"
)

var execCommand = &cli.Command{
	Name:      "exec",
	Usage:     "run a new process inside a running container",
	ArgsUsage: "<container-id> <command> [args...]",
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "console-socket", Usage: "unix socket that receives the pty master"},
		&cli.StringFlag{Name: "cwd", Usage: "working directory in the container"},
		&cli.StringSliceFlag{Name: "env", Aliases: []string{"e"}, Usage: "add an environment variable (KEY=VALUE)"},
		&cli.BoolFlag{Name: "tty", Aliases: []string{"t"}, Usage: "allocate a pseudo-TTY"},
		&cli.StringFlag{Name: "user", Aliases: []string{"u"}, Usage: "UID[:GID] to run as"},
		&cli.Int64SliceFlag{Name: "additional-gids", Aliases: []string{"g"}, Usage: "additional group IDs"},
		&cli.StringFlag{Name: "process", Aliases: []string{"p"}, Usage: "JSON file with the process to run (OCI process)"},
		&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "detach from the process"},
		&cli.StringFlag{Name: "pid-file", Usage: "file to write the process pid to"},
		&cli.StringFlag{Name: "process-label", Usage: "SELinux label for the process"},
		&cli.StringFlag{Name: "apparmor", Usage: "AppArmor profile for the process"},
		&cli.BoolFlag{Name: "no-new-privs", Usage: "set no_new_privs"},
		&cli.StringSliceFlag{Name: "cap", Aliases: []string{"c"}, Usage: "add a capability"},
		&cli.IntFlag{Name: "preserve-fds", Usage: "pass N additional fds to the process"},
		&cli.StringSliceFlag{Name: "cgroup", Usage: "run the process in an existing sub-cgroup: [<controller>[,<controller>]:]<path> (repeat per controller on cgroup v1)"},
		&cli.StringFlag{Name: "pidfd-socket", Usage: "unix socket that receives a pidfd of the process (SCM_RIGHTS)"},
		&cli.BoolFlag{Name: "ignore-paused", Usage: "allow exec in a paused container (the process runs once it is resumed)"},
	},
	SkipFlagParsing: false,
	Action: func(c *cli.Context) error {
		if err := minArgs(c, 1); err != nil {
			return err
		}
		// As runc: exec's own failures exit 255, the process's status is its own.
		if err := execAction(c); err != nil {
			var ee exitError
			if errors.As(err, &ee) {
				return err
			}
			return codedError{fmt.Errorf("exec failed: %w", err), 255}
		}
		return nil
	},
}

// execAction runs the exec; its errors are exec's own (exit 255), exitError carries the
// process status.
func execAction(c *cli.Context) error {
	// Locked until the process runs: a pause or checkpoint freezing the
	// cgroup while the new process joins it leaves a cgroup v1 freezer
	// FREEZING for good (the joining task, mid-execve, waits for its own
	// frozen threads), and both commands would hang.
	ctr, unlock, err := lockedContainer(c, "exec")
	if err != nil {
		return err
	}
	defer unlock()
	ps, err := execProcess(c, runtime.Bundle(ctr))
	if err != nil {
		return err
	}
	pidFile, err := absOrEmpty(c.String("pid-file"))
	if err != nil {
		return err
	}
	subCgroups, err := subCgroupPaths(c.StringSlice("cgroup"))
	if err != nil {
		return err
	}
	if c.Bool("ignore-paused") {
		// The lock would keep `resume` from thawing the container while the new
		// process waits, frozen, to run: nothing to guard against, it is frozen.
		if st, err := ctr.Status(); err == nil && st == libcontainer.Paused {
			unlock()
		}
	}
	status, err := runtime.Exec(ctr, ps, runtime.LaunchOpts{
		IO:             runtime.IOConfig{Detach: c.Bool("detach"), ConsoleSocket: c.String("console-socket")},
		PidFile:        pidFile,
		PreserveFDs:    c.Int("preserve-fds"),
		Started:        unlock,
		SubCgroupPaths: subCgroups,
		IgnorePaused:   c.Bool("ignore-paused"),
		PidfdSocket:    c.String("pidfd-socket"),
	})
	if err != nil {
		return err
	}
	if c.Bool("detach") {
		return nil
	}
	return exitError{status}
}

// subCgroupPaths parses --cgroup values into libcontainer's controller -> path map:
// "ctrl[,ctrl]:path" per controller (cgroup v1), or one bare "path" (cgroup v2, key "").
func subCgroupPaths(args []string) (map[string]string, error) {
	if len(args) == 0 {
		return nil, nil
	}
	paths := make(map[string]string, len(args))
	for _, a := range args {
		ctrls, path, ok := strings.Cut(a, ":")
		if !ok {
			if len(args) != 1 {
				return nil, fmt.Errorf("invalid --cgroup argument: %s (missing <controller>: prefix)", a)
			}
			paths[""] = a
			continue
		}
		for _, ctrl := range strings.Split(ctrls, ",") {
			if ctrl == "" {
				return nil, fmt.Errorf("invalid --cgroup argument: %s (empty <controller> prefix)", a)
			}
			if _, dup := paths[ctrl]; dup {
				return nil, fmt.Errorf("invalid --cgroup argument(s): controller %s specified multiple times", ctrl)
			}
			paths[ctrl] = path
		}
	}
	return paths, nil
}

// execProcess builds the process: --process JSON as is, or the bundle's process with
// the command line's args and overrides (as runc does).
func execProcess(c *cli.Context, bundle string) (*specs.Process, error) {
	if path := c.String("process"); path != "" {
		var p specs.Process
		if err := readJSONFile(path, &p); err != nil {
			return nil, err
		}
		return &p, spec.ValidateProcess(&p)
	}
	if c.NArg() < 2 {
		return nil, fmt.Errorf("exec needs a command: mycr exec <container-id> <command> [args...]")
	}
	s, err := spec.Load(bundle)
	if err != nil {
		return nil, fmt.Errorf("read the container's bundle for exec defaults: %w", err)
	}
	p := s.Process
	p.Args = c.Args().Tail()
	p.Terminal = c.Bool("tty")
	p.Env = append(p.Env, c.StringSlice("env")...)
	if cwd := c.String("cwd"); cwd != "" {
		p.Cwd = cwd
	}
	if u := c.String("user"); u != "" {
		uid, gid, _ := strings.Cut(u, ":")
		n, err := strconv.ParseUint(uid, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("--user %q: want UID[:GID] as numbers", u)
		}
		p.User.UID = uint32(n)
		if gid != "" {
			g, err := strconv.ParseUint(gid, 10, 32)
			if err != nil {
				return nil, fmt.Errorf("--user %q: want UID[:GID] as numbers", u)
			}
			p.User.GID = uint32(g)
		}
	}
	for _, g := range c.Int64Slice("additional-gids") {
		if g < 0 || g > math.MaxUint32 {
			return nil, fmt.Errorf("--additional-gids %d: want a group ID from 0 to %d", g, uint32(math.MaxUint32))
		}
		p.User.AdditionalGids = append(p.User.AdditionalGids, uint32(g))
	}
	if l := c.String("process-label"); l != "" {
		p.SelinuxLabel = l
	}
	if a := c.String("apparmor"); a != "" {
		p.ApparmorProfile = a
	}
	if c.IsSet("no-new-privs") { // --no-new-privs=false overrides the bundle's true
		p.NoNewPrivileges = c.Bool("no-new-privs")
	}
	if caps := c.StringSlice("cap"); len(caps) > 0 {
		if p.Capabilities == nil {
			p.Capabilities = &specs.LinuxCapabilities{}
		}
		p.Capabilities.Bounding = append(p.Capabilities.Bounding, caps...)
		p.Capabilities.Effective = append(p.Capabilities.Effective, caps...)
		p.Capabilities.Permitted = append(p.Capabilities.Permitted, caps...)
		// As runc: ambient too, where the bundle sets inheritable ones (ambient
		// capabilities need their inheritable bit, which --cap does not add).
		if p.Capabilities.Inheritable != nil {
			p.Capabilities.Ambient = append(p.Capabilities.Ambient, caps...)
		}
	}
	return p, spec.ValidateProcess(p)
}
