package main

import (
	"errors"
	"strings"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/urfave/cli/v2"

	"github.com/mycr/mycr/criu/archive"
	"github.com/mycr/mycr/criu/archive/oci"
	"github.com/mycr/mycr/runtime"
)

var checkpointCommand = &cli.Command{
	Name:      "checkpoint",
	Usage:     "checkpoint a running container with CRIU",
	ArgsUsage: "<container-id>",
	Flags: append(crFlags(),
		&cli.StringFlag{Name: "parent-path", Usage: "path of a previous (pre-)dump, relative to --image-path"},
		&cli.BoolFlag{Name: "leave-running", Usage: "leave the container running after the checkpoint"},
		&cli.BoolFlag{Name: "tcp-skip-in-flight", Usage: "skip in-flight TCP connections"},
		&cli.BoolFlag{Name: "link-remap", Usage: "allow one to link unlinked files back when possible"},
		&cli.StringFlag{Name: "page-server", Usage: "ADDRESS:PORT of a CRIU page server"},
		&cli.IntFlag{Name: "status-fd", Value: -1, Usage: "fd to write \\0 to when the lazy-pages server is ready"},
		&cli.BoolFlag{Name: "pre-dump", Usage: "dump memory only (needs soft-dirty tracking, absent on this kernel)"},
		&cli.StringFlag{Name: "export", Usage: "also write one portable archive to FILE (- for stdout), or push it as a checkpoint image to oci:REGISTRY/REPO:TAG"},
		&cli.StringFlag{Name: "compress", Value: "zstd", Usage: "archive compression: zstd, gzip or none; zstd:1..22 or gzip:1..9 sets the level (zstd:1 is the fastest)"},
		&cli.StringFlag{Name: "rootfs-image", Usage: "with --export: the image the container's rootfs came from (NAME[:TAG], as Podman names it), recorded in config.dump for podman container restore --import"},
		&cli.BoolFlag{Name: "all", Usage: "checkpoint every running container of the root, each to --image-root/<id>"},
		&cli.StringFlag{Name: "image-root", Usage: "with --all: directory that receives one image dir per container"},
		archiveKeyFlag,
		printStatsFlag,
	),
	Action: func(c *cli.Context) error {
		start := time.Now()
		if c.Bool("all") {
			return checkpointAll(c)
		}
		if err := exactArgs(c, 1); err != nil {
			return err
		}
		id, err := containerID(c)
		if err != nil {
			return err
		}
		r, o, err := checkpointOpts(c)
		if err != nil {
			return err
		}
		if file := c.String("export"); file != "" {
			x, err := exportOpts(c, file)
			if err != nil {
				return err
			}
			if !c.IsSet("image-path") {
				o.ImagesDirectory = "" // images only go into the archive
			}
			return r.CheckpointExport(id, o, x)
		}
		if c.IsSet("rootfs-image") {
			return errors.New("--rootfs-image is recorded in an archive: it needs --export FILE or --export oci:REF")
		}
		stop := showProgress(r, id, o)
		err = r.Checkpoint(id, o)
		stop()
		if err != nil {
			return err
		}
		reportStats(c, "checkpoint", id, o, start)
		return nil
	},
}

// checkpointOpts adds the checkpoint-only flags to the shared CRIU options.
func checkpointOpts(c *cli.Context) (*runtime.Root, *libcontainer.CriuOpts, error) {
	r, o, err := criuOpts(c)
	if err != nil {
		return nil, nil, err
	}
	o.ParentImage = c.String("parent-path")
	if err := checkParentPath(o.ImagesDirectory, o.ParentImage); err != nil {
		return nil, nil, err
	}
	o.LeaveRunning = c.Bool("leave-running") || c.Bool("pre-dump")
	o.PreDump = c.Bool("pre-dump")
	o.TcpSkipInFlight = c.Bool("tcp-skip-in-flight")
	o.LinkRemap = c.Bool("link-remap")
	o.StatusFd = c.Int("status-fd")
	if ps := c.String("page-server"); ps != "" {
		if o.PageServer, err = parsePageServer(ps); err != nil {
			return nil, nil, err
		}
	}
	if o.LazyPages && o.StatusFd < 0 && o.PageServer.Address == "" {
		return nil, nil, errors.New("--lazy-pages needs --status-fd or --page-server to hand the memory over")
	}
	return r, o, nil
}

func exportOpts(c *cli.Context, file string) (runtime.ExportOpts, error) {
	comp, err := archive.ParseCompression(c.String("compress"))
	if err != nil {
		return runtime.ExportOpts{}, err
	}
	key, err := archiveKey(c)
	if err != nil {
		return runtime.ExportOpts{}, err
	}
	if file != "-" && !strings.HasPrefix(file, oci.Prefix) {
		if file, err = absOrEmpty(file); err != nil {
			return runtime.ExportOpts{}, err
		}
	}
	return runtime.ExportOpts{File: file, Compression: comp, Key: key, RootfsImage: c.String("rootfs-image")}, nil
}

func checkpointAll(c *cli.Context) error {
	if c.NArg() != 0 || c.String("image-root") == "" {
		return errors.New("checkpoint --all takes no container ID and needs --image-root DIR")
	}
	r, o, err := checkpointOpts(c)
	if err != nil {
		return err
	}
	root, err := absOrEmpty(c.String("image-root"))
	if err != nil {
		return err
	}
	outcomes, err := r.CheckpointAll(root, *o)
	if err != nil {
		return err
	}
	return reportAll(c, "checkpointed", outcomes)
}
