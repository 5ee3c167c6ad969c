package main

import (
	"github.com/urfave/cli/v2"

	"github.com/mycr/mycr/spec"
)

var specCommand = &cli.Command{
	Name:  "spec",
	Usage: "write a default config.json (busybox-style sh on a tty, rootfs \"rootfs\")",
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "bundle", Aliases: []string{"b"}, Value: ".", Usage: "where to write config.json"},
		&cli.BoolFlag{Name: "rootless", Usage: "generate a configuration for a rootless container"},
	},
	Action: func(c *cli.Context) error {
		if err := exactArgs(c, 0); err != nil {
			return err
		}
		return spec.WriteDefault(c.String("bundle"), c.Bool("rootless"))
	},
}
