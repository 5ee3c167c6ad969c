package main

import (
	"errors"

	"github.com/urfave/cli/v2"
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
		o.ParentImage = c.String("parent-path")
		o.LeaveRunning = c.Bool("leave-running") || c.Bool("pre-dump")
		o.PreDump = c.Bool("pre-dump")
		o.TcpSkipInFlight = c.Bool("tcp-skip-in-flight")
		o.LinkRemap = c.Bool("link-remap")
		o.StatusFd = c.Int("status-fd")
		if ps := c.String("page-server"); ps != "" {
			if o.PageServer, err = parsePageServer(ps); err != nil {
				return err
			}
		}
		if o.LazyPages && o.StatusFd < 0 && o.PageServer.Address == "" {
			return errors.New("--lazy-pages needs --status-fd or --page-server to hand the memory over")
		}
		return r.Checkpoint(id, o)
	},
}
