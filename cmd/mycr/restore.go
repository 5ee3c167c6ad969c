package main

import (
	"github.com/urfave/cli/v2"

	"github.com/mycr/mycr/runtime"
)

var restoreCommand = &cli.Command{
	Name:  "restore",
	Usage: "restore a container from a checkpoint",
	ArgsUsage: `<container-id>

A new ID (and bundle) makes a new container from the checkpoint; the ID of a
container in the "created" state restores into that container, keeping its stdio.`,
	Flags: append(crFlags(),
		&cli.StringFlag{Name: "bundle", Aliases: []string{"b"}, Usage: "bundle directory (default: current dir, else the checkpoint's bundle)"},
		&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "detach from the restored container"},
		&cli.StringFlag{Name: "pid-file", Usage: "file to write the restored init's pid to"},
		&cli.StringFlag{Name: "console-socket", Usage: "unix socket that receives the new pty master"},
		&cli.BoolFlag{Name: "no-subreaper", Usage: "do not make mycr a child subreaper"},
		&cli.BoolFlag{Name: "no-pivot", Usage: "do not use pivot_root to jail the process"},
		&cli.StringFlag{Name: "lsm-profile", Usage: "LSM profile for the restored processes (TYPE:NAME)"},
		&cli.StringFlag{Name: "lsm-mount-context", Usage: "LSM mount context for the restored mounts"},
		&cli.StringFlag{Name: "pidfd-socket", Hidden: true},
	),
	Action: func(c *cli.Context) error {
		if err := exactArgs(c, 1); err != nil {
			return err
		}
		id, err := containerID(c)
		if err != nil {
			return err
		}
		r, o, err := criuOpts(c)
		if err != nil {
			return err
		}
		o.LsmProfile = c.String("lsm-profile")
		o.LsmMountContext = c.String("lsm-mount-context")
		pidFile, err := absOrEmpty(c.String("pid-file"))
		if err != nil {
			return err
		}
		bundle, err := absOrEmpty(c.String("bundle"))
		if err != nil {
			return err
		}
		co := createOpts(c, id, bundle, nil)
		status, err := r.Restore(runtime.RestoreOpts{
			Create: co,
			Criu:   *o,
			Launch: runtime.LaunchOpts{
				IO:          runtime.IOConfig{Detach: c.Bool("detach"), ConsoleSocket: c.String("console-socket")},
				PidFile:     pidFile,
				NoSubreaper: c.Bool("no-subreaper"),
			},
		})
		if err != nil {
			return err
		}
		if c.Bool("detach") {
			return nil
		}
		return exitError{status}
	},
}
