package main

import (
	"errors"
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/urfave/cli/v2"

	"github.com/mycr/mycr/runtime"
)

var createCommand = &cli.Command{
	Name:      "create",
	Usage:     "create a container (its process waits for `mycr start`)",
	ArgsUsage: "<container-id>",
	Flags:     launchFlags(),
	Action: func(c *cli.Context) error {
		return launchFailed("create", launch(c, runtime.ActCreate))
	},
}

// launchFlags are the flags create and run share with runc.
func launchFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "bundle", Aliases: []string{"b"}, Usage: "bundle directory (default: current directory)"},
		&cli.StringFlag{Name: "console-socket", Usage: "unix socket that receives the pty master (with process.terminal)"},
		&cli.StringFlag{Name: "pid-file", Usage: "file to write the container's init pid to"},
		&cli.BoolFlag{Name: "no-pivot", Usage: "do not use pivot_root to jail the process"},
		&cli.BoolFlag{Name: "no-new-keyring", Usage: "do not create a new session keyring"},
		&cli.IntFlag{Name: "preserve-fds", Usage: "pass N additional fds (3..3+N-1) to the container"},
		&cli.StringFlag{Name: "pidfd-socket", Usage: "unix socket that receives a pidfd of the container's init (SCM_RIGHTS)"},
	}
}

// launchFailed names the command in its own errors as runc does ("mycr run failed:
// unable to start container process: ..."); the process's exit status passes as is.
func launchFailed(verb string, err error) error {
	var ee exitError
	if err == nil || errors.As(err, &ee) {
		return err
	}
	return fmt.Errorf("mycr %s failed: %w", verb, err)
}

// launch implements create and run: load the bundle, create, start, maybe wait.
func launch(c *cli.Context, act runtime.Action) error {
	if err := exactArgs(c, 1); err != nil {
		return err
	}
	id, err := containerID(c)
	if err != nil {
		return err
	}
	if act == runtime.ActRun && !c.Bool("detach") {
		runtime.CatchSignals() // in the background, while the container is created
	}
	pidFile, err := absOrEmpty(c.String("pid-file"))
	if err != nil {
		return err
	}
	bundle, s, err := runtime.LoadBundle(c.String("bundle"))
	if err != nil {
		return err
	}
	r, err := root(c)
	if err != nil {
		return err
	}
	ctr, err := r.Create(createOpts(c, id, bundle, s))
	if err != nil {
		return err
	}
	status, err := runtime.Launch(ctr, s.Process, act, runtime.LaunchOpts{
		IO: runtime.IOConfig{
			Terminal:      s.Process.Terminal,
			Detach:        c.Bool("detach"),
			ConsoleSocket: c.String("console-socket"),
		},
		PidFile:     pidFile,
		NoSubreaper: c.Bool("no-subreaper"),
		PreserveFDs: c.Int("preserve-fds"),
		PidfdSocket: c.String("pidfd-socket"),
	})
	if err != nil {
		return err
	}
	if act == runtime.ActRun && !c.Bool("detach") {
		if !c.Bool("keep") {
			_ = ctr.Destroy()
		}
		return exitError{status}
	}
	return nil
}

func createOpts(c *cli.Context, id, bundle string, s *specs.Spec) runtime.CreateOpts {
	return runtime.CreateOpts{
		ID:            id,
		Bundle:        bundle,
		Spec:          s,
		SystemdCgroup: c.Bool("systemd-cgroup"),
		NoPivot:       c.Bool("no-pivot"),
		NoNewKeyring:  c.Bool("no-new-keyring"),
	}
}
