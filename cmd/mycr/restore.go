package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/mycr/mycr/criu/archive/oci"
	"github.com/mycr/mycr/runtime"
)

var restoreCommand = &cli.Command{
	Name:  "restore",
	Usage: "restore a container from a checkpoint",
	ArgsUsage: `<container-id>

A new ID (and bundle) makes a new container from the checkpoint; the ID of a
container in the "created" state restores into that container, keeping its stdio.`,
	Flags: append(append(crFlags(),
		&cli.StringFlag{Name: "bundle", Aliases: []string{"b"}, Usage: "bundle directory (default: current dir, else the checkpoint's bundle)"},
		&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "detach from the restored container"},
		&cli.StringFlag{Name: "pid-file", Usage: "file to write the restored init's pid to"},
		&cli.StringFlag{Name: "console-socket", Usage: "unix socket that receives the new pty master"},
		&cli.BoolFlag{Name: "no-subreaper", Usage: "do not make mycr a child subreaper"},
		&cli.BoolFlag{Name: "no-pivot", Usage: "do not use pivot_root to jail the process"},
		&cli.StringFlag{Name: "lsm-profile", Usage: "LSM profile for the restored processes (TYPE:NAME)"},
		&cli.StringFlag{Name: "lsm-mount-context", Usage: "LSM mount context for the restored mounts"},
		&cli.StringFlag{Name: "pidfd-socket", Hidden: true},
		&cli.StringFlag{Name: "import", Usage: "restore from a checkpoint archive (FILE, or - for stdin) made by checkpoint --export, Podman or Kubernetes; oci:REGISTRY/REPO:TAG pulls a checkpoint image"},
		&cli.BoolFlag{Name: "unverified", Usage: "with --import: accept an archive that cannot be verified (Podman's, Kubernetes'; no mycr manifest)"},
		&cli.StringSliceFlag{Name: "remap-mount", Usage: "DEST=SRC: bind-mount SRC at DEST instead of the configured source"},
		&cli.BoolFlag{Name: "all", Usage: "restore every checkpoint under --image-root as the container it was"},
		&cli.StringFlag{Name: "image-root", Usage: "with --all: directory holding one image dir per container"},
		&cli.StringFlag{Name: "console-socket-dir", Usage: "with --all: terminal container <id> gets its pty on DIR/<id>.sock"},
		archiveKeyFlag,
		printStatsFlag,
	), lazyFlags...),
	Action: func(c *cli.Context) error {
		start := time.Now()
		if c.Bool("all") {
			return restoreAll(c)
		}
		if err := exactArgs(c, 1); err != nil {
			return err
		}
		id, err := containerID(c)
		if err != nil {
			return err
		}
		r, ro, err := restoreOpts(c, id)
		if err != nil {
			return err
		}
		status, err := r.Restore(*ro)
		if err != nil {
			return err
		}
		if ro.Import == "" {
			reportStats(c, "restore", id, &ro.Criu, start)
		}
		if err := finishLazy(c, ro.Lazy, start); err != nil {
			return err
		}
		if c.Bool("detach") {
			return nil
		}
		return exitError{status}
	},
}

// restoreOpts gathers a restore's options from the flags.
func restoreOpts(c *cli.Context, id string) (*runtime.Root, *runtime.RestoreOpts, error) {
	r, o, err := criuOpts(c)
	if err != nil {
		return nil, nil, err
	}
	o.LsmProfile = c.String("lsm-profile")
	o.LsmMountContext = c.String("lsm-mount-context")
	pidFile, err := absOrEmpty(c.String("pid-file"))
	if err != nil {
		return nil, nil, err
	}
	bundle, err := absOrEmpty(c.String("bundle"))
	if err != nil {
		return nil, nil, err
	}
	remap := map[string]string{}
	for _, kv := range c.StringSlice("remap-mount") {
		dest, src, ok := strings.Cut(kv, "=")
		if !ok || dest == "" || src == "" {
			return nil, nil, fmt.Errorf("--remap-mount %q: want DEST=SRC", kv)
		}
		remap[dest] = src
	}
	ro := &runtime.RestoreOpts{
		Create: createOpts(c, id, bundle, nil),
		Criu:   *o,
		Launch: runtime.LaunchOpts{
			IO:          runtime.IOConfig{Detach: c.Bool("detach"), ConsoleSocket: c.String("console-socket")},
			PidFile:     pidFile,
			NoSubreaper: c.Bool("no-subreaper"),
		},
		RemapMounts: remap,
	}
	if ro.Lazy, err = lazyOpts(c); err != nil {
		return nil, nil, err
	}
	if imp := c.String("import"); imp != "" {
		if ro.ImportKey, err = archiveKey(c); err != nil {
			return nil, nil, err
		}
		if imp != "-" && !strings.HasPrefix(imp, oci.Prefix) {
			if imp, err = filepath.Abs(imp); err != nil {
				return nil, nil, err
			}
		}
		ro.Import = imp
		ro.ImportUnverified = c.Bool("unverified")
	}
	return r, ro, nil
}

func restoreAll(c *cli.Context) error {
	if c.NArg() != 0 || c.String("image-root") == "" {
		return errors.New("restore --all takes no container ID and needs --image-root DIR")
	}
	r, ro, err := restoreOpts(c, "")
	if err != nil {
		return err
	}
	root, err := absOrEmpty(c.String("image-root"))
	if err != nil {
		return err
	}
	consoleDir, err := absOrEmpty(c.String("console-socket-dir"))
	if err != nil {
		return err
	}
	start := time.Now()
	outcomes, err := r.RestoreAll(root, consoleDir, *ro)
	lazyErr := finishLazy(c, ro.Lazy, start)
	if err != nil {
		_ = reportAll(c, "restored", outcomes) // what was skipped, and why
		return errors.Join(err, lazyErr)
	}
	return errors.Join(reportAll(c, "restored", outcomes), lazyErr)
}
